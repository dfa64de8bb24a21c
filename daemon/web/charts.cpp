#include "web/charts.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "web/html.hpp"

namespace tend::web {
namespace {

using namespace std::chrono;

struct Record {
  WallTime at;  // when the run or result started
  double duration_ms = 0;
  std::string_view outcome;
  std::string_view reason;
  std::int64_t run_id = 0;
  std::int64_t attempt = 1;
};

std::vector<Record> read_records(const boost::json::array& runs, std::size_t limit) {
  std::vector<Record> out;
  out.reserve(std::min(runs.size(), limit));
  for (const auto& v : runs) {
    if (out.size() >= limit) {
      break;
    }
    if (!v.is_object()) {
      continue;
    }
    const auto& o = v.get_object();
    auto at = json_time(o, "started_at");
    if (!at) {
      continue;
    }
    Record r;
    r.at = *at;
    r.duration_ms = json_num(o, "duration_ms").value_or(0);
    r.outcome = json_str(o, "outcome");
    r.reason = json_str(o, "reason");
    r.run_id = static_cast<std::int64_t>(json_num(o, "run_id").value_or(0));
    r.attempt = static_cast<std::int64_t>(json_num(o, "attempt").value_or(1));
    out.push_back(r);
  }
  return out;
}

/// A round duration (ms) at least v, for a chart's scale: 1-2-5 steps below a second, then
/// the steps a clock has (15 s, 30 s, 1 m, 5 m, 15 m, 1 h, 6 h, ...).
double nice_duration(double v) {
  static constexpr double steps[] = {1,      2,      5,       10,      20,      50,       100,      200,      500,
                                     1000,   2000,   5000,    10000,   15000,   30000,    60000,    120000,   300000,
                                     600000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000};
  for (double step : steps) {
    if (step >= v * 0.999999) {
      return step;
    }
  }
  return std::ceil(v / 86400000) * 86400000;
}

void num(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  // "12.0" → "12": shorter SVG, same drawing.
  std::string_view s(buf);
  if (s.ends_with(".0")) {
    s.remove_suffix(2);
  }
  out += s;
}

void attr(std::string& out, const char* name, double v) {
  out += ' ';
  out += name;
  out += "=\"";
  num(out, v);
  out += '"';
}

void rect(std::string& out, double x, double y, double w, double h, const char* cls, const std::string& title) {
  out += "<rect";
  attr(out, "x", x);
  attr(out, "y", y);
  attr(out, "width", std::max(w, 0.5));
  attr(out, "height", h);
  out += " class=\"";
  out += cls;
  out += '"';
  if (title.empty()) {
    out += "/>";
    return;
  }
  out += "><title>";
  append_html(out, title);
  out += "</title></rect>";
}

void text(std::string& out, double x, double y, const char* anchor, const std::string& s) {
  out += "<text";
  attr(out, "x", x);
  attr(out, "y", y);
  out += " text-anchor=\"";
  out += anchor;
  out += "\">";
  append_html(out, s);
  out += "</text>";
}

bool is_result(std::string_view outcome) { return outcome == "up" || outcome == "down"; }

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

/// Segments of the up/down strip between `start` and `now`, adjacent equal outcomes merged.
struct Segment {
  double from;  // seconds after start
  double to;
  bool up;
};

struct Strip {
  std::vector<Segment> segments;
  double up_seconds = 0;
  double down_seconds = 0;
};

/// `asc` holds up/down records oldest first, possibly one from before `start`.
Strip build_strip(const std::vector<Record>& asc, WallTime start, WallTime now) {
  Strip strip;
  if (asc.empty()) {
    return strip;
  }
  // Results are recorded on every change and at least once a minute while nothing changes: a
  // longer silence than three usual spacings (the daemon was down, the probe paused) is "no data".
  std::vector<double> gaps;
  for (std::size_t i = 1; i < asc.size(); ++i) {
    gaps.push_back(duration<double>(asc[i].at - asc[i - 1].at).count());
  }
  double usual = 60;
  if (!gaps.empty()) {
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
    usual = gaps[gaps.size() / 2];
  }
  const double limit = std::clamp(3 * usual, 300.0, 7200.0);
  const double window = duration<double>(now - start).count();
  for (std::size_t i = 0; i < asc.size(); ++i) {
    const double at = duration<double>(asc[i].at - start).count();
    const double next = i + 1 < asc.size() ? duration<double>(asc[i + 1].at - start).count() : window;
    const double from = std::max(at, 0.0);
    const double to = std::min({next, at + limit, window});
    if (to <= from) {
      continue;
    }
    const bool up = asc[i].outcome == "up";
    (up ? strip.up_seconds : strip.down_seconds) += to - from;
    if (!strip.segments.empty() && strip.segments.back().up == up && strip.segments.back().to >= from - 0.5) {
      strip.segments.back().to = to;
    } else {
      strip.segments.push_back({from, to, up});
    }
  }
  return strip;
}

}  // namespace

const char* outcome_class(std::string_view o) {
  if (o == "success" || o == "up" || o == "ok") {
    return "ok";
  }
  if (o == "failure" || o == "timeout" || o == "interrupted" || o == "down" || o == "restart_failed" ||
      o == "critical") {
    return "bad";
  }
  if (o == "skipped" || o == "missed" || o == "restarted" || o == "warning") {
    return "warn";
  }
  if (o == "running") {
    return "info";
  }
  return "none";
}

bool is_availability(const boost::json::array& runs) {
  for (const auto& v : runs) {
    if (v.is_object()) {
      const auto o = json_str(v.get_object(), "outcome");
      if (is_result(o)) {
        return true;
      }
      if (!o.empty() && o != "restarted" && o != "restart_failed") {
        return false;
      }
    }
  }
  return false;
}

Chart availability_chart(const boost::json::array& runs, const ChartContext& ctx) {
  const WallTime start = ctx.now - hours(24);
  // Newest first in the document; collect the window plus the last result before it (the
  // state the window starts in).
  std::vector<Record> results;
  std::vector<Record> restarts;
  for (const auto& r : read_records(runs, runs.size())) {
    if (r.at > ctx.now) {
      continue;
    }
    if (!is_result(r.outcome)) {
      if (r.at >= start) {
        restarts.push_back(r);
      }
      continue;
    }
    results.push_back(r);
    if (r.at < start) {
      break;
    }
  }
  std::reverse(results.begin(), results.end());
  Chart chart;
  if (results.empty() && restarts.empty()) {
    return chart;
  }
  constexpr double x0 = 46;
  constexpr double x1 = 712;
  constexpr double width = x1 - x0;
  constexpr double top = 8;
  constexpr double plot_h = 96;
  constexpr double strip_y = 112;
  constexpr double strip_h = 14;
  const double window = duration<double>(ctx.now - start).count();
  const auto x_of = [&](double seconds) { return x0 + width * std::clamp(seconds / window, 0.0, 1.0); };

  double max_ms = 0;
  std::vector<double> latencies;
  for (const auto& r : results) {
    if (r.at >= start && r.outcome == "up") {
      max_ms = std::max(max_ms, r.duration_ms);
      latencies.push_back(r.duration_ms);
    }
  }
  const double scale_ms = nice_duration(std::max(max_ms, 10.0));
  const auto y_of = [&](double ms) { return top + plot_h - plot_h * std::clamp(ms / scale_ms, 0.0, 1.0); };

  const auto strip = build_strip(results, start, ctx.now);
  std::string& s = chart.svg;
  s.reserve(4096 + results.size() * 16);
  s += "<svg class=\"chart\" viewBox=\"0 0 720 160\" role=\"img\"><title>";
  s += "Latency and availability over the last 24 hours</title>";
  // Grid: the latency scale and six-hour marks.
  s += "<g class=\"grid\">";
  for (int i = 0; i <= 4; ++i) {
    const double x = x0 + width * i / 4;
    s += "<line";
    attr(s, "x1", x);
    attr(s, "y1", top);
    attr(s, "x2", x);
    attr(s, "y2", strip_y + strip_h);
    s += "/>";
  }
  for (double f : {0.0, 0.5, 1.0}) {
    const double y = top + plot_h * f;
    s += "<line";
    attr(s, "x1", x0);
    attr(s, "y1", y);
    attr(s, "x2", x1);
    attr(s, "y2", y);
    s += "/>";
  }
  s += "</g><g class=\"axis\">";
  text(s, x0 - 4, top + 4, "end", format_ms(scale_ms));
  text(s, x0 - 4, top + plot_h / 2 + 4, "end", format_ms(scale_ms / 2));
  text(s, x0 - 4, top + plot_h + 4, "end", "0");
  const char* labels[] = {"24h ago", "18h ago", "12h ago", "6h ago", "now"};
  for (int i = 0; i <= 4; ++i) {
    text(s, x0 + width * i / 4, 146, i == 0 ? "start" : (i == 4 ? "end" : "middle"), labels[i]);
  }
  s += "</g>";
  // The strip: grey where nothing is known, then green and red stretches.
  rect(s, x0, strip_y, width, strip_h, "none", "");
  for (const auto& seg : strip.segments) {
    const auto from = start + duration_cast<system_clock::duration>(duration<double>(seg.from));
    const auto to = start + duration_cast<system_clock::duration>(duration<double>(seg.to));
    rect(s, x_of(seg.from), strip_y, x_of(seg.to) - x_of(seg.from), strip_h, seg.up ? "ok" : "bad",
         std::string(seg.up ? "up" : "down") + " from " + local_time(from, ctx.zone) + " to " +
             local_time(to, ctx.zone) + " (" + format_ms(1000 * (seg.to - seg.from)) + ")");
  }
  // The latency line, broken where there is no data.
  std::string path;
  double last_at = -1e18;
  for (const auto& r : results) {
    const double at = duration<double>(r.at - start).count();
    if (at < 0) {
      continue;
    }
    if (r.outcome != "up") {
      last_at = -1e18;  // a failure has no meaningful latency: the line stops there
      continue;
    }
    path += at - last_at > 900 ? 'M' : 'L';
    num(path, x_of(at));
    path += ' ';
    num(path, y_of(r.duration_ms));
    last_at = at;
  }
  if (!path.empty()) {
    s += "<path class=\"line\" d=\"";
    s += path;
    s += "\"/>";
  }
  // A mark where each stretch of failures begins (the strip shows how long it lasted).
  std::string_view previous;
  for (const auto& r : results) {
    const double at = duration<double>(r.at - start).count();
    const bool begins = r.outcome == "down" && previous != "down";
    previous = r.outcome;
    if (at >= 0 && begins) {
      s += "<circle class=\"bad\"";
      attr(s, "cx", x_of(at));
      attr(s, "cy", top + plot_h - 2);
      s += " r=\"2.5\"><title>";
      append_html(s, "down at " + local_time(r.at, ctx.zone) + ": " + std::string(r.reason));
      s += "</title></circle>";
    }
  }
  for (const auto& r : restarts) {
    const double x = x_of(duration<double>(r.at - start).count());
    s += "<path class=\"";
    s += outcome_class(r.outcome);
    s += " mark\" d=\"M";
    num(s, x - 5);
    s += ' ';
    num(s, strip_y - 8);
    s += " L";
    num(s, x + 5);
    s += ' ';
    num(s, strip_y - 8);
    s += " L";
    num(s, x);
    s += ' ';
    num(s, strip_y - 1);
    s += "Z\"><title>";
    append_html(s, std::string(r.outcome) + " at " + local_time(r.at, ctx.zone) +
                       (r.reason.empty() ? "" : ": " + std::string(r.reason)));
    s += "</title></path>";
  }
  s += "</svg>";

  const double known = strip.up_seconds + strip.down_seconds;
  std::string summary;
  if (known > 0) {
    char span[32];
    std::snprintf(span, sizeof span, "%.1f h", known / 3600);
    summary = "up " + percent(100 * strip.up_seconds / known) + " of the " + span + " with data";
  } else {
    summary = "no results in the last 24 hours";
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    summary += "; latency median " + format_ms(latencies[latencies.size() / 2]) + ", max " + format_ms(max_ms);
  }
  if (!restarts.empty()) {
    summary += "; " + std::to_string(restarts.size()) + " restart" + (restarts.size() == 1 ? "" : "s");
  }
  chart.summary = std::move(summary);
  return chart;
}

Chart runs_chart(const boost::json::array& runs, const ChartContext& ctx, std::size_t max_runs) {
  auto records = read_records(runs, max_runs);
  Chart chart;
  if (records.empty()) {
    return chart;
  }
  std::reverse(records.begin(), records.end());
  for (auto& r : records) {
    if (r.outcome == "running") {
      r.duration_ms = std::max(0.0, duration<double, std::milli>(ctx.now - r.at).count());
    }
  }
  double max_ms = 0;
  std::size_t failed = 0;
  for (const auto& r : records) {
    max_ms = std::max(max_ms, r.duration_ms);
    failed += std::string_view(outcome_class(r.outcome)) == "bad" ? 1 : 0;
  }
  const double scale_ms = nice_duration(std::max(max_ms, 1.0));
  constexpr double x0 = 46;
  constexpr double x1 = 712;
  constexpr double top = 8;
  constexpr double plot_h = 104;
  const double slot = std::min(24.0, (x1 - x0) / static_cast<double>(std::max<std::size_t>(records.size(), 1)));
  const double bar = std::max(1.0, slot * 0.75);
  std::string& s = chart.svg;
  s += "<svg class=\"chart\" viewBox=\"0 0 720 140\" role=\"img\"><title>";
  s += "Duration and outcome of the last " + std::to_string(records.size()) + " runs</title>";
  s += "<g class=\"grid\">";
  for (double f : {0.0, 0.5, 1.0}) {
    s += "<line";
    attr(s, "x1", x0);
    attr(s, "y1", top + plot_h * f);
    attr(s, "x2", x1);
    attr(s, "y2", top + plot_h * f);
    s += "/>";
  }
  s += "</g><g class=\"axis\">";
  text(s, x0 - 4, top + 4, "end", format_ms(scale_ms));
  text(s, x0 - 4, top + plot_h / 2 + 4, "end", format_ms(scale_ms / 2));
  text(s, x0 - 4, top + plot_h + 4, "end", "0");
  text(s, x0, 130, "start", relative_time(records.front().at, ctx.now));
  if (records.size() > 1) {
    text(s, x0 + slot * static_cast<double>(records.size() - 1) + bar, 130, "end",
         relative_time(records.back().at, ctx.now));
  }
  s += "</g>";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const double h = std::max(2.0, plot_h * std::clamp(r.duration_ms / scale_ms, 0.0, 1.0));
    std::string title = "run " + std::to_string(r.run_id);
    if (r.attempt > 1) {
      title += " (attempt " + std::to_string(r.attempt) + ")";
    }
    title += ": " + std::string(r.outcome.empty() ? "?" : r.outcome) + ", " + format_ms(r.duration_ms) + ", " +
             local_time(r.at, ctx.zone);
    if (!r.reason.empty()) {
      title += " — " + std::string(r.reason);
    }
    rect(s, x0 + slot * static_cast<double>(i), top + plot_h - h, bar, h, outcome_class(r.outcome), title);
  }
  s += "</svg>";
  chart.summary = std::to_string(records.size()) + " runs shown, " + std::to_string(failed) + " failed; longest " +
                  format_ms(max_ms);
  return chart;
}

std::string sparkline(const boost::json::array& runs, const ChartContext& ctx) {
  std::string s;
  constexpr double w = 120;
  constexpr double h = 16;
  if (is_availability(runs)) {
    const WallTime start = ctx.now - hours(24);
    std::vector<Record> results;
    for (const auto& r : read_records(runs, runs.size())) {
      if (!is_result(r.outcome) || r.at > ctx.now) {
        continue;
      }
      results.push_back(r);
      if (r.at < start) {
        break;
      }
    }
    if (results.empty()) {
      return s;
    }
    std::reverse(results.begin(), results.end());
    const auto strip = build_strip(results, start, ctx.now);
    const double window = duration<double>(ctx.now - start).count();
    s += "<svg class=\"spark\" viewBox=\"0 0 120 16\" preserveAspectRatio=\"none\" role=\"img\">";
    s += "<title>up/down over the last 24 hours</title>";
    rect(s, 0, 0, w, h, "none", "");
    for (const auto& seg : strip.segments) {
      rect(s, w * seg.from / window, 0, w * (seg.to - seg.from) / window, h, seg.up ? "ok" : "bad", "");
    }
    s += "</svg>";
    return s;
  }
  auto records = read_records(runs, 20);
  if (records.empty()) {
    return s;
  }
  std::reverse(records.begin(), records.end());
  double max_ms = 1;
  for (const auto& r : records) {
    max_ms = std::max(max_ms, r.duration_ms);
  }
  s += "<svg class=\"spark\" viewBox=\"0 0 120 16\" preserveAspectRatio=\"none\" role=\"img\">";
  s += "<title>duration and outcome of the last " + std::to_string(records.size()) + " runs</title>";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const double bh = std::max(3.0, h * records[i].duration_ms / max_ms);
    rect(s, 6 * static_cast<double>(i), h - bh, 5, bh, outcome_class(records[i].outcome), "");
  }
  s += "</svg>";
  return s;
}

}  // namespace tend::web
