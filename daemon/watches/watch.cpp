#include "watches/watch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "entries/documents.hpp"
#include "metrics/exposition.hpp"
#include "util/log.hpp"

namespace tend::watches {
namespace {

using std::chrono::milliseconds;

constexpr auto kEvaluatePeriod = std::chrono::seconds(1);
constexpr auto kUnparsedLogPeriod = std::chrono::minutes(1);

/// "7.5%", "10%", "0.33%": two decimals at most, no trailing zeros.
std::string percent(double v) {
  auto s = fmt::format("{:.2f}", v);
  while (!s.empty() && s.back() == '0') {
    s.pop_back();
  }
  if (!s.empty() && s.back() == '.') {
    s.pop_back();
  }
  return s + "%";
}

events::Severity severity_of(State s) {
  return s == State::critical ? events::Severity::critical : events::Severity::warning;
}

std::unique_ptr<LineParser> parser_for(const WatchConfig& cfg) {
  const auto* format = find_format(cfg.format);
  return format != nullptr && cfg.parsing ? format->make(*cfg.parsing) : nullptr;
}

}  // namespace

const char* to_string(State s) {
  switch (s) {
    case State::ok:
      return "ok";
    case State::warning:
      return "warning";
    case State::critical:
      return "critical";
  }
  return "?";
}

Watch::Watch(Context ctx, std::shared_ptr<const WatchConfig> cfg)
    : Entry(WatchConfig::kKind, cfg->name, ctx.clock, log::get("watches")),
      ctx_(ctx),
      cfg_(std::move(cfg)),
      parser_(parser_for(*cfg_)),
      window_(cfg_->window) {}

Watch::~Watch() { retire(); }

int Watch::start(const entries::Saved& /*saved*/) {
  retired_ = false;
  logger()->info(
      "watch={} event=START file={} format={} window={} buckets={}x{} min_requests={} warning={} critical={}",
      cfg_->name, cfg_->file, cfg_->format, format_duration(cfg_->window), window_.buckets(),
      format_duration(window_.bucket_width()), cfg_->min_requests, percent(cfg_->warning), percent(cfg_->critical));
  start_following();
  arm_timer();
  return 0;
}

void Watch::start_following() {
  if (follower_) {
    follower_->stop();
  }
  follower_ = std::make_unique<Follower>(
      ctx_.io, ctx_.clock, cfg_->file, cfg_->name,
      [this](std::string_view line, bool overlong) { ingest(line, overlong); }, [this] { evaluate(); });
  follower_->start();
}

void Watch::arm_timer() {
  eval_timer_ = ctx_.clock.call_after(kEvaluatePeriod, lifetime_.guard([this] {
    evaluate();
    arm_timer();
  }));
}

void Watch::update(std::shared_ptr<const WatchConfig> cfg) {
  const bool source_changed =
      cfg->file != cfg_->file || cfg->format != cfg_->format || !config::same_settings(cfg->parsing, cfg_->parsing);
  const bool traffic_changed = cfg->file != cfg_->file || cfg->window != cfg_->window;
  cfg_ = std::move(cfg);
  parser_ = parser_for(*cfg_);
  if (traffic_changed) {
    // Other traffic or another length: counts of the old window do not carry over.
    window_ = Window(cfg_->window);
    pending_requests_ = 0;
    pending_errors_ = 0;
  }
  logger()->info("watch={} event=UPDATE file={} window={} min_requests={} warning={} critical={} restart_follow={}",
                 cfg_->name, cfg_->file, format_duration(cfg_->window), cfg_->min_requests, percent(cfg_->warning),
                 percent(cfg_->critical), source_changed);
  if (source_changed && follower_) {
    start_following();
  }
  if (!retired_) {
    evaluate();
  }
}

void Watch::retire() {
  retired_ = true;
  eval_timer_.reset();
  if (follower_) {
    follower_->stop();
  }
}

void Watch::on_resume() {
  if (!retired_) {
    evaluate();  // a condition that began while paused is raised now
  }
}

void Watch::ingest(std::string_view line, bool overlong) {
  ++lines_;
  const auto status = overlong || !parser_ ? std::nullopt : parser_->status(line);
  if (!status) {
    ++unparsed_;
    note_unparsed();
    return;
  }
  ++pending_requests_;
  ++total_requests_;
  if (*status >= 500) {
    ++pending_errors_;
    ++total_errors_;
  }
}

void Watch::note_unparsed() {
  // The first one at once, then a count at most once a minute: a log in the wrong format must not
  // flood the journal. Never the line itself: tend reads as root, and a log swapped for another
  // file must not leak what it holds (SPEC: unparsed lines are counted, never echoed).
  const auto now = ctx_.clock.mono_now();
  if (unparsed_log_at_ && now - *unparsed_log_at_ < kUnparsedLogPeriod) {
    return;
  }
  unparsed_log_at_ = now;
  logger()->warn("watch={} event=UNPARSED format={} new={} total={}", cfg_->name, cfg_->format,
                 unparsed_ - unparsed_logged_, unparsed_);
  unparsed_logged_ = unparsed_;
}

void Watch::evaluate() {
  const auto mono = ctx_.clock.mono_now();
  window_.add(mono, pending_requests_, pending_errors_);
  pending_requests_ = 0;
  pending_errors_ = 0;
  totals_ = window_.totals(mono);
  rate_ =
      totals_.requests == 0 ? 0.0 : 100.0 * static_cast<double>(totals_.errors) / static_cast<double>(totals_.requests);
  State measured = State::ok;
  if (totals_.requests >= static_cast<std::uint64_t>(cfg_->min_requests)) {
    if (rate_ >= cfg_->critical) {
      measured = State::critical;
    } else if (rate_ >= cfg_->warning) {
      measured = State::warning;
    }
  }
  last_evaluated_ = ctx_.clock.now();
  // Up at once; down only after the lower state has held for settle_time(): a rate hovering at a
  // threshold must not turn into a storm of firing and resolved notifications.
  State next = state_;
  if (measured > state_) {
    next = measured;
    lower_since_.reset();
  } else if (measured < state_) {
    if (!lower_since_) {
      lower_since_ = mono;
    }
    if (mono - *lower_since_ >= settle_time()) {
      next = measured;
      lower_since_.reset();
    }
  } else {
    lower_since_.reset();
  }
  if (next != state_) {
    const auto line =
        fmt::format("watch={} event=STATE from={} to={} rate={} requests={} errors={} window={} min_requests={}",
                    cfg_->name, to_string(state_), to_string(next), percent(rate_), totals_.requests, totals_.errors,
                    format_duration(cfg_->window), cfg_->min_requests);
    if (next == State::ok) {
      logger()->info("{}", line);
    } else {
      logger()->warn("{}", line);
    }
    state_ = next;
    state_since_ = last_evaluated_;
  }
  publish_changes(totals_, rate_);
}

Duration Watch::settle_time() const {
  return std::clamp(Duration(cfg_->window / 10), Duration(std::chrono::seconds(1)), Duration(std::chrono::seconds(30)));
}

std::string Watch::figures(const Window::Totals& totals, double rate) const {
  return fmt::format("{} 5xx ({} of {} requests in {})", percent(rate), totals.errors, totals.requests,
                     format_duration(cfg_->window));
}

void Watch::publish_changes(const Window::Totals& totals, double rate) {
  if (state_ == published_) {
    return;
  }
  auto e = events::Event::of(events::types::watch_error_rate, cfg_->name);
  e.at = ctx_.clock.now();
  e.detail = fmt::format("requests={} errors_5xx={} rate={} window={} min_requests={} warning={} critical={} file={}",
                         totals.requests, totals.errors, percent(rate), format_duration(cfg_->window),
                         cfg_->min_requests, percent(cfg_->warning), percent(cfg_->critical), cfg_->file);
  e.labels = {{"requests", std::to_string(totals.requests)},
              {"errors", std::to_string(totals.errors)},
              {"rate", percent(rate)},
              {"window", format_duration(cfg_->window)},
              {"file", cfg_->file}};
  if (state_ == State::ok) {
    // A resolve closes what was opened, so it goes out even while paused.
    e.status = events::Status::resolved;
    e.severity = severity_of(published_);
    if (totals.requests < static_cast<std::uint64_t>(cfg_->min_requests)) {
      e.summary =
          fmt::format("watch {}: too few requests to judge ({} in {}, min_requests {}); last rate {}", cfg_->name,
                      totals.requests, format_duration(cfg_->window), cfg_->min_requests, percent(rate));
    } else {
      e.summary = fmt::format("watch {}: 5xx rate back to {}, below the warning threshold {}", cfg_->name,
                              figures(totals, rate), percent(cfg_->warning));
    }
    published_ = State::ok;
  } else {
    if (paused()) {
      return;
    }
    // A change of severity (warning <-> critical) is a new notification.
    e.status = events::Status::firing;
    e.severity = severity_of(state_);
    const double threshold = state_ == State::critical ? cfg_->critical : cfg_->warning;
    e.summary = fmt::format("watch {}: {}, at or above the {} threshold {}", cfg_->name, figures(totals, rate),
                            to_string(state_), percent(threshold));
    e.labels["threshold"] = percent(threshold);
    published_ = state_;
  }
  ctx_.bus.publish(e);
}

void Watch::metrics(metrics::Collector& c) const {
  using metrics::Type;
  entry_series(c, to_string(state_));
  const std::string_view name = cfg_->name;
  c.family("tend_watch_requests_total", "Requests read from the log, since tendd started.", Type::counter, {"name"})
      .sample({name}, total_requests_);
  c.family("tend_watch_server_errors_total", "Requests read from the log that were answered with a 5xx status.",
           Type::counter, {"name"})
      .sample({name}, total_errors_);
  c.family("tend_watch_error_ratio", "5xx share of the requests in the watch's window (0-1), as tend judges it.",
           Type::gauge, {"name"})
      .sample({name}, rate_ / 100.0);
  c.family("tend_watch_window_requests", "Requests in the watch's window.", Type::gauge, {"name"})
      .sample({name}, totals_.requests);
  c.family("tend_watch_unparsed_lines_total", "Log lines that could not be parsed, since tendd started.", Type::counter,
           {"name"})
      .sample({name}, unparsed_);
}

Status Watch::status() const {
  Status s;
  s.state = state_;
  s.paused = paused();
  s.paused_until = paused_until();
  s.rate = rate_;
  s.requests = totals_.requests;
  s.errors = totals_.errors;
  s.unparsed = unparsed_;
  s.lines = lines_;
  s.total_requests = total_requests_;
  s.last_evaluated = last_evaluated_;
  s.state_since = state_since_;
  s.summary = figures(totals_, rate_);
  if (unparsed_ > 0) {
    s.summary += fmt::format("; {} unparsed line{}", unparsed_, unparsed_ == 1 ? "" : "s");
  }
  if (follower_) {
    s.file = follower_->stats();
  }
  return s;
}

boost::json::object Watch::status_entry() const {
  const auto s = status();
  auto o = status_head(to_string(s.state));
  o["last_result"] = s.last_evaluated ? boost::json::value(to_string(s.state)) : boost::json::value(nullptr);
  o["last_reason"] = s.summary;
  o["last_run"] = entries::time_or_null(s.last_evaluated);
  o["next_run"] = nullptr;
  o["consecutive_failures"] = 0;
  o["rate"] = std::round(s.rate * 100) / 100;  // percent, two decimals
  o["requests"] = s.requests;
  o["errors"] = s.errors;
  o["unparsed"] = s.unparsed;
  o["lines"] = s.lines;
  o["total_requests"] = s.total_requests;
  o["state_since"] = entries::time_or_null(s.state_since);
  o["file"] = cfg_->file;
  o["format"] = cfg_->format;
  o["window"] = format_duration(cfg_->window);
  o["min_requests"] = cfg_->min_requests;
  o["warning"] = cfg_->warning;
  o["critical"] = cfg_->critical;
  o["following"] = s.file.open;
  o["offset"] = s.file.offset;
  o["inode"] = s.file.inode;
  o["rotations"] = s.file.rotations;
  o["truncations"] = s.file.truncations;
  o["inotify"] = s.file.inotify;
  o["follow_error"] = s.file.error.empty() ? boost::json::value(nullptr) : boost::json::value(s.file.error);
  return o;
}

const entries::KindSpec& kind() {
  static const entries::KindSpec spec{section(), [](entries::Services& s, const config::EntryConfig& cfg) {
                                        return std::make_shared<Watch>(Context::from(s), cfg.shared<WatchConfig>());
                                      }};
  return spec;
}

}  // namespace tend::watches
