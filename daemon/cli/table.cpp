#include "cli/table.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <vector>

#include "util/duration.hpp"
#include "util/time.hpp"

namespace tend::cli {
namespace json = boost::json;
namespace {

std::string text(const json::value* v) {
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  if (v->is_string()) {
    return std::string(v->as_string());
  }
  return json::serialize(*v);
}

/// "2026-11-22 10:00:00Z (in 3h)": absolute for the record, relative for the eye.
std::string when(const json::value* v) {
  if (v == nullptr || !v->is_string()) {
    return "-";
  }
  auto t = parse_iso8601(std::string(v->as_string()));
  if (!t) {
    return std::string(v->as_string());
  }
  auto delta = std::chrono::duration_cast<std::chrono::seconds>(*t - std::chrono::system_clock::now());
  auto rel = format_duration(std::chrono::duration_cast<Duration>(delta.count() < 0 ? -delta : delta));
  std::string s(v->as_string());
  s[10] = ' ';
  return s + (delta.count() < 0 ? " (" + rel + " ago)" : " (in " + rel + ")");
}

/// The kind-specific part of a status row: a job's last reason; a probe's latency, reason and
/// restarts; a watch's rate and counts.
std::string detail(const json::object& o) {
  const std::string kind = text(o.if_contains("kind"));
  if (kind == "probe") {
    std::string s;
    if (const auto* l = o.if_contains("latency_ms"); l != nullptr && !l->is_null()) {
      s = text(l) + "ms";
    }
    if (auto r = text(o.if_contains("reason")); r != "-" && !r.empty()) {
      s += (s.empty() ? "" : " ") + r;
    }
    if (auto n = text(o.if_contains("restarts_in_window")); n != "0" && n != "-") {
      s += (s.empty() ? "" : ", ") + n + " restart(s) in window";
    }
    return s.empty() ? "-" : s;
  }
  if (kind == "watch") {
    return text(o.if_contains("rate")) + "% of " + text(o.if_contains("requests")) + " requests, " +
           text(o.if_contains("unparsed")) + " unparsed";
  }
  if (const auto* r = o.if_contains("last_reason")) {
    return text(r);
  }
  return text(o.if_contains("reason"));
}

void print_rows(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) {
        line += std::string(width[i] - r[i].size() + 2, ' ');
      }
    }
    out << line << "\n";
  }
}

}  // namespace

namespace {

/// Below the entries: firing alerts, silences, and any notifier that is behind or gave up.
void print_alerting(std::ostream& out, const json::object& doc, bool tty) {
  const auto* a = doc.if_contains("alerts");
  if (a == nullptr || !a->is_object()) {
    return;
  }
  const auto& al = a->as_object();
  if (const auto* f = al.if_contains("firing"); f != nullptr && f->is_array() && !f->as_array().empty()) {
    out << "\nfiring:\n";
    for (const auto& x : f->as_array()) {
      const auto& o = x.as_object();
      out << "  " << text(o.if_contains("severity")) << " " << text(o.if_contains("kind")) << " "
          << text(o.if_contains("name")) << " " << text(o.if_contains("event")) << " since "
          << when(o.if_contains("since")) << " x" << text(o.if_contains("occurrences"))
          << (o.at("silenced").as_bool() ? " (silenced)" : "") << "\n";
    }
  }
  if (const auto* s = al.if_contains("silences"); s != nullptr && s->is_array() && !s->as_array().empty()) {
    out << "\nsilenced:\n";
    for (const auto& x : s->as_array()) {
      const auto& o = x.as_object();
      out << "  " << text(o.if_contains("target")) << " until " << when(o.if_contains("until")) << " by "
          << text(o.if_contains("by")) << (text(o.if_contains("reason")).empty() ? "" : ": ")
          << text(o.if_contains("reason")) << "\n";
    }
  }
  if (const auto* n = al.if_contains("notifiers"); n != nullptr && n->is_array()) {
    for (const auto& x : n->as_array()) {
      const auto& o = x.as_object();
      const bool behind =
          o.at("pending").to_number<std::int64_t>() > 0 || o.at("given_up").to_number<std::int64_t>() > 0;
      if (behind) {
        out << (tty ? "\033[31m" : "") << "notifier " << text(o.if_contains("name")) << " ("
            << text(o.if_contains("target")) << "): " << text(o.if_contains("pending")) << " pending, "
            << text(o.if_contains("given_up")) << " given up; last error: " << text(o.if_contains("last_error"))
            << (tty ? "\033[0m" : "") << "\n";
      }
    }
  }
}

}  // namespace

void print_status(std::ostream& out, const json::object& doc, bool tty) {
  const auto& d = doc.at("daemon").as_object();
  const auto& c = d.at("config").as_object();
  out << "tendd " << text(d.if_contains("version")) << " on " << text(d.if_contains("host")) << " ("
      << text(d.if_contains("environment")) << "), up since " << when(d.if_contains("started_at")) << "\n";
  out << "config " << text(c.if_contains("path")) << " loaded " << when(c.if_contains("loaded_at")) << "\n";
  if (const auto* err = c.if_contains("error"); err != nullptr && err->is_string()) {
    out << (tty ? "\033[31m" : "") << "last reload REJECTED, previous config in force:\n"
        << std::string_view(err->as_string()) << (tty ? "\033[0m" : "") << "\n";
  }
  out << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"KIND", "NAME", "STATE", "LAST", "LAST RUN", "NEXT RUN", "FAILS", "DETAIL"}};
  for (const auto& e : doc.at("entries").as_array()) {
    const auto& o = e.as_object();
    std::string state = text(o.if_contains("state"));
    if (const auto* p = o.if_contains("paused"); p != nullptr && p->is_bool() && p->as_bool()) {
      state += " (paused)";
    }
    if (const auto* m = o.if_contains("silenced_until"); m != nullptr && m->is_string()) {
      state += " (silenced)";
    }
    rows.push_back({text(o.if_contains("kind")), text(o.if_contains("name")), state, text(o.if_contains("last_result")),
                    when(o.if_contains("last_run")), when(o.if_contains("next_run")),
                    text(o.if_contains("consecutive_failures")), detail(o)});
  }
  print_rows(out, rows);
  print_alerting(out, doc, tty);
}

void print_history(std::ostream& out, const json::object& doc) {
  std::vector<std::vector<std::string>> rows = {{"RUN", "ATTEMPT", "STARTED", "DURATION", "OUTCOME", "EXIT", "REASON"}};
  for (const auto& r : doc.at("runs").as_array()) {
    const auto& o = r.as_object();
    std::string exit = text(o.if_contains("exit_code"));
    if (const auto* s = o.if_contains("signal"); s != nullptr && !s->is_null()) {
      exit = "sig " + text(s);
    }
    const auto* ms = o.if_contains("duration_ms");
    std::string dur = ms != nullptr && ms->is_int64() ? format_duration(Duration(ms->as_int64())) : "-";
    rows.push_back({text(o.if_contains("run_id")), text(o.if_contains("attempt")), text(o.if_contains("started_at")),
                    dur, text(o.if_contains("outcome")), exit, text(o.if_contains("reason"))});
  }
  print_rows(out, rows);
}

void print_alerts(std::ostream& out, const json::object& doc) {
  std::vector<std::vector<std::string>> rows = {
      {"AT", "KIND", "NAME", "EVENT", "STATUS", "SEVERITY", "COUNT", "ACTION", "NOTIFIERS", "SUMMARY"}};
  for (const auto& r : doc.at("alerts").as_array()) {
    const auto& o = r.as_object();
    rows.push_back({text(o.if_contains("at")), text(o.if_contains("kind")), text(o.if_contains("name")),
                    text(o.if_contains("event")), text(o.if_contains("status")), text(o.if_contains("severity")),
                    text(o.if_contains("occurrences")), text(o.if_contains("action")), text(o.if_contains("notifiers")),
                    text(o.if_contains("summary"))});
  }
  print_rows(out, rows);
}

void print_ack(std::ostream& out, const std::string& cmd, const json::object& reply) {
  if (cmd == "reload") {
    auto list = [&](const char* key) {
      std::string s;
      if (const auto* a = reply.if_contains(key); a != nullptr && a->is_array()) {
        for (const auto& n : a->as_array()) {
          s += (s.empty() ? "" : ", ") + text(&n);
        }
      }
      return s.empty() ? std::string("none") : s;
    };
    out << "reloaded: added " << list("added") << "; changed " << list("changed") << "; removed " << list("removed")
        << "\n";
  } else if (cmd == "pause") {
    out << "paused" << (reply.contains("until") ? " until " + text(reply.if_contains("until")) : "") << "\n";
  } else {
    out << cmd << ": ok\n";
  }
}

}  // namespace tend::cli
