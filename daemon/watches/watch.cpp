#include "watches/watch.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/log.hpp"

namespace tend::watches {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

const auto& logger() {
  static auto l = log::get("watches");
  return l;
}

constexpr auto kEvaluatePeriod = std::chrono::seconds(1);
constexpr auto kUnparsedLogPeriod = std::chrono::minutes(1);
constexpr std::size_t kSampleChars = 200;

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

config::Severity severity_of(State s) {
  return s == State::critical ? config::Severity::critical : config::Severity::warning;
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

Watch::Watch(Context& ctx, config::WatchConfig cfg)
    : ctx_(ctx), cfg_(std::move(cfg)), parser_(cfg_.format, cfg_.status_field), window_(cfg_.window) {}

Watch::~Watch() { retire(); }

void Watch::start() {
  retired_ = false;
  logger()->info(
      "watch={} event=START file={} format={} window={} buckets={}x{} min_requests={} warning={} critical={}",
      cfg_.name, cfg_.file, cfg_.format == config::LogFormat::json ? "json" : "combined", format_duration(cfg_.window),
      window_.buckets(), format_duration(window_.bucket_width()), cfg_.min_requests, percent(cfg_.warning),
      percent(cfg_.critical));
  start_following();
  arm_timer();
}

void Watch::start_following() {
  if (follower_) {
    follower_->stop();
  }
  follower_ = std::make_unique<Follower>(
      ctx_.io, ctx_.clock, cfg_.file, cfg_.name,
      [this](std::string_view line, bool overlong) { ingest(line, overlong); }, [this] { evaluate(); });
  follower_->start();
}

void Watch::arm_timer() {
  eval_timer_ = ctx_.clock.call_after(kEvaluatePeriod, [this] {
    evaluate();
    arm_timer();
  });
}

void Watch::update(config::WatchConfig cfg) {
  const bool source_changed =
      cfg.file != cfg_.file || cfg.format != cfg_.format || cfg.status_field != cfg_.status_field;
  const bool traffic_changed = cfg.file != cfg_.file || cfg.window != cfg_.window;
  cfg_ = std::move(cfg);
  parser_ = LineParser(cfg_.format, cfg_.status_field);
  if (traffic_changed) {
    // Other traffic or another length: counts of the old window do not carry over.
    window_ = Window(cfg_.window);
    pending_requests_ = 0;
    pending_errors_ = 0;
  }
  logger()->info("watch={} event=UPDATE file={} window={} min_requests={} warning={} critical={} restart_follow={}",
                 cfg_.name, cfg_.file, format_duration(cfg_.window), cfg_.min_requests, percent(cfg_.warning),
                 percent(cfg_.critical), source_changed);
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
  pause_.cancel();
  if (follower_) {
    follower_->stop();
  }
}

void Watch::pause(std::optional<WallTime> until) {
  pause_.hold(ctx_.clock, until, [this] { resume(); });
  logger()->info("watch={} event=PAUSE until={}", cfg_.name, until ? format_iso8601(*until) : "resume");
}

void Watch::resume() {
  if (pause_.release()) {
    logger()->info("watch={} event=RESUME", cfg_.name);
  }
  if (!retired_) {
    evaluate();  // a condition that began while paused is raised now
  }
}

bool Watch::paused_now() const { return pause_.active(ctx_.clock.now()); }

void Watch::ingest(std::string_view line, bool overlong) {
  ++lines_;
  if (overlong) {
    ++unparsed_;
    note_unparsed("(a line longer than 64 KiB)");
    return;
  }
  const auto status = parser_.status(line);
  if (!status) {
    ++unparsed_;
    note_unparsed(line);
    return;
  }
  ++pending_requests_;
  ++total_requests_;
  if (*status >= 500) {
    ++pending_errors_;
  }
}

void Watch::note_unparsed(std::string_view line) {
  // The first one at once, then a count and a sample at most once a minute: a log in the wrong
  // format must not flood the journal.
  const auto now = ctx_.clock.mono_now();
  if (unparsed_log_at_ && now - *unparsed_log_at_ < kUnparsedLogPeriod) {
    return;
  }
  unparsed_log_at_ = now;
  std::string sample(line.substr(0, kSampleChars));
  logger()->warn("watch={} event=UNPARSED format={} new={} total={} sample={}", cfg_.name,
                 cfg_.format == config::LogFormat::json ? "json" : "combined", unparsed_ - unparsed_logged_, unparsed_,
                 log::quote(sample));
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
  if (totals_.requests >= static_cast<std::uint64_t>(cfg_.min_requests)) {
    if (rate_ >= cfg_.critical) {
      measured = State::critical;
    } else if (rate_ >= cfg_.warning) {
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
                    cfg_.name, to_string(state_), to_string(next), percent(rate_), totals_.requests, totals_.errors,
                    format_duration(cfg_.window), cfg_.min_requests);
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
  return std::clamp(Duration(cfg_.window / 10), Duration(std::chrono::seconds(1)), Duration(std::chrono::seconds(30)));
}

std::string Watch::figures(const Window::Totals& totals, double rate) const {
  return fmt::format("{} 5xx ({} of {} requests in {})", percent(rate), totals.errors, totals.requests,
                     format_duration(cfg_.window));
}

void Watch::publish_changes(const Window::Totals& totals, double rate) {
  if (state_ == published_) {
    return;
  }
  events::Event e;
  e.kind = events::Kind::watch;
  e.name = cfg_.name;
  e.event = "error_rate";
  e.at = ctx_.clock.now();
  e.detail = fmt::format("requests={} errors_5xx={} rate={} window={} min_requests={} warning={} critical={} file={}",
                         totals.requests, totals.errors, percent(rate), format_duration(cfg_.window), cfg_.min_requests,
                         percent(cfg_.warning), percent(cfg_.critical), cfg_.file);
  e.labels = {{"requests", std::to_string(totals.requests)},
              {"errors", std::to_string(totals.errors)},
              {"rate", percent(rate)},
              {"window", format_duration(cfg_.window)},
              {"file", cfg_.file}};
  if (state_ == State::ok) {
    // A resolve closes what was opened, so it goes out even while paused.
    e.status = events::Status::resolved;
    e.severity = severity_of(published_);
    if (totals.requests < static_cast<std::uint64_t>(cfg_.min_requests)) {
      e.summary =
          fmt::format("watch {}: too few requests to judge ({} in {}, min_requests {}); last rate {}", cfg_.name,
                      totals.requests, format_duration(cfg_.window), cfg_.min_requests, percent(rate));
    } else {
      e.summary = fmt::format("watch {}: 5xx rate back to {}, below the warning threshold {}", cfg_.name,
                              figures(totals, rate), percent(cfg_.warning));
    }
    published_ = State::ok;
  } else {
    if (paused_now()) {
      return;
    }
    // A change of severity (warning <-> critical) is a new notification.
    e.status = events::Status::firing;
    e.severity = severity_of(state_);
    const double threshold = state_ == State::critical ? cfg_.critical : cfg_.warning;
    e.summary = fmt::format("watch {}: {}, at or above the {} threshold {}", cfg_.name, figures(totals, rate),
                            to_string(state_), percent(threshold));
    e.labels["threshold"] = percent(threshold);
    published_ = state_;
  }
  ctx_.bus.publish(e);
}

Status Watch::status() const {
  Status s;
  s.state = state_;
  s.paused = paused_now();
  s.paused_until = pause_.until();
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

}  // namespace tend::watches
