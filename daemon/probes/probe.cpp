#include "probes/probe.hpp"

#include <functional>

#include "util/log.hpp"
#include "util/redact.hpp"

namespace tend::probes {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

const auto& logger() {
  static auto l = log::get("probes");
  return l;
}

}  // namespace

const char* to_string(State s) {
  switch (s) {
    case State::unknown:
      return "unknown";
    case State::up:
      return "up";
    case State::down:
      return "down";
  }
  return "?";
}

Probe::Probe(Context& ctx, config::ProbeConfig cfg, std::optional<state::RunRecord> last) : ctx_(ctx) {
  update(std::move(cfg));
  if (last && last->kind == "probe" && (last->outcome == "up" || last->outcome == "down")) {
    // After a restart, start from what was last seen rather than "unknown": a probe that was down
    // stays down (no second "down" alert) until it is seen up.
    state_ = last->outcome == "up" ? State::up : State::down;
    last_result_ = last->outcome;
    reason_ = last->reason;
    last_run_ = last->started_at;
    latency_ms_ = last->duration_ms;
    if (state_ == State::down) {
      failures_ = cfg_.failure_threshold;
    }
  }
}

Probe::~Probe() = default;

void Probe::update(config::ProbeConfig cfg) {
  const bool interval_changed = cfg.interval != cfg_.interval;
  cfg_ = std::move(cfg);
  regex_.reset();
  if (!cfg_.expect.body_regex.empty()) {
    auto r = BodyRegex::compile(cfg_.expect.body_regex);
    if (r) {
      regex_ = *r;
    } else {
      logger()->error("probe={} {}", cfg_.name, r.error());
    }
  }
  remedy_.reset();
  if (cfg_.remedy) {
    auto r = ctx_.make_remedy(*cfg_.remedy);
    if (r) {
      remedy_ = std::move(*r);
    } else {
      logger()->error("probe={} remedy: {}", cfg_.name, r.error());
    }
  }
  if (interval_changed && timer_) {
    next_at_ = ctx_.clock.mono_now() + cfg_.interval;
    schedule_next();
  }
}

void Probe::start() {
  // Spread the first probes of many entries over one interval, deterministically by name.
  // (within the first 5 s, so status is known soon after start).
  const auto spread = static_cast<std::int64_t>(std::hash<std::string>{}(cfg_.name) % 1'000'003);
  next_at_ = ctx_.clock.mono_now() + milliseconds(spread % std::min<std::int64_t>(cfg_.interval.count(), 5000));
  schedule_next();
}

void Probe::retire() {
  retired_ = true;
  timer_.reset();
  pause_.cancel();
  remedy_timer_.reset();
  in_flight_.reset();
}

void Probe::schedule_next() {
  if (retired_) {
    return;
  }
  std::weak_ptr<Probe> weak = weak_from_this();
  timer_ = ctx_.clock.call_at(next_at_, [weak] {
    if (auto self = weak.lock()) {
      self->fire();
    }
  });
}

bool Probe::paused_now() const { return pause_.active(ctx_.clock.now()); }

http::Request Probe::request() const {
  http::Request r;
  r.method = cfg_.method;
  r.url = cfg_.url;
  r.headers = cfg_.headers;
  r.body = cfg_.body;
  r.unix_socket = cfg_.unix_socket;
  r.timeout = cfg_.timeout;
  r.verify_tls = cfg_.tls.verify;
  r.follow_redirects = cfg_.follow_redirects;
  r.fresh_connection = !cfg_.reuse_connection;
  return r;
}

void Probe::fire() {
  // Fixed-rate on the monotonic clock (no drift); after a stall, resume without a burst.
  const auto now = ctx_.clock.mono_now();
  next_at_ += cfg_.interval;
  if (next_at_ <= now) {
    next_at_ = now + cfg_.interval;
  }
  schedule_next();
  if (paused_now() || verifying_) {
    return;
  }
  if (in_flight_) {
    logger()->debug("probe={} previous request still in flight; tick skipped", cfg_.name);
    return;
  }
  std::weak_ptr<Probe> weak = weak_from_this();
  in_flight_ = ctx_.http.send(request(), [weak](http::Response resp) {
    if (auto self = weak.lock()) {
      self->in_flight_.reset();
      self->on_response(resp);
    }
  });
}

namespace {

/// "latency 2.4s > 2s" and "latency 2.5s > 2s" are the same finding; "status 502" and "status 503"
/// are not.
std::string_view reason_kind(std::string_view reason) {
  return reason.starts_with("latency ") ? std::string_view("latency") : reason;
}

}  // namespace

void Probe::record_result(const http::Response& resp, const Verdict& verdict, WallTime now) {
  // History keeps every change (up/down, or a new reason) and one sample a minute while nothing
  // changes: a row per result was a third of the CPU at 100 probes and 36 M rows an hour at
  // 10,000 (bench/README.md, statedb), for rows that all said the same thing.
  const auto mono = ctx_.clock.mono_now();
  const bool changed = last_result_ != recorded_result_ || reason_kind(verdict.reason) != reason_kind(recorded_reason_);
  if (!changed && recorded_at_ && mono - *recorded_at_ < kHistorySample) {
    return;
  }
  recorded_result_ = last_result_;
  recorded_reason_ = verdict.reason;
  recorded_at_ = mono;
  ctx_.store.put_run({cfg_.name, "probe", ctx_.next_run_id(), 1, now - resp.latency, now, resp.latency.count(),
                      last_result_,
                      resp.failure == http::Failure::none ? std::optional<int>(resp.status) : std::nullopt,
                      std::nullopt, verdict.reason, ""});
}

void Probe::on_response(const http::Response& resp) {
  const auto verdict = evaluate(cfg_, regex_.get(), resp);
  const auto now = ctx_.clock.now();
  last_run_ = now - resp.latency;
  latency_ms_ = resp.latency.count();
  last_result_ = verdict.up ? "up" : "down";
  reason_ = verdict.reason;
  record_result(resp, verdict, now);
  logger()->debug("probe={} result={} status={} latency_ms={} reason={}", cfg_.name, last_result_, resp.status,
                  latency_ms_, log::quote(verdict.reason));
  check_certificate(resp);
  judge(verdict, resp);
}

void Probe::judge(const Verdict& v, const http::Response& /*resp*/) {
  if (v.up) {
    ++successes_;
    failures_ = 0;
    if (state_ != State::up && (state_ == State::unknown || successes_ >= cfg_.success_threshold)) {
      const bool was_down = state_ == State::down;
      state_ = State::up;
      logger()->info("probe={} event=UP latency_ms={}", cfg_.name, latency_ms_);
      if (was_down) {
        publish("down", events::Status::resolved, cfg_.severity, "probe " + cfg_.name + " is up again", "");
      }
    }
    if (state_ == State::up && breaker_) {
      // The circuit breaker re-arms by itself once the target is healthy again.
      breaker_ = false;
      restarts_.clear();
      remedy_timer_.reset();
      publish("restart_limit", events::Status::resolved, cfg_.severity,
              "probe " + cfg_.name + " is up again; restarts re-armed", "");
    }
    return;
  }
  ++failures_;
  successes_ = 0;
  if (state_ != State::down && failures_ >= cfg_.failure_threshold) {
    state_ = State::down;
    logger()->warn("probe={} event=DOWN failures={} reason={}", cfg_.name, failures_, log::quote(v.reason));
    publish("down", events::Status::firing, cfg_.severity,
            "probe " + cfg_.name + " is down: " + v.reason + " (" + std::to_string(failures_) + " failures in a row)",
            v.reason);
  }
  if (state_ == State::down) {
    maybe_restart();
  }
}

void Probe::check_certificate(const http::Response& resp) {
  if (!resp.cert_expiry) {
    return;
  }
  cert_expiry_ = resp.cert_expiry;
  const auto left = *resp.cert_expiry - ctx_.clock.now();
  if (left < cfg_.tls.expiry_warning && !cert_warning_) {
    cert_warning_ = true;
    publish("cert_expiring", events::Status::firing, config::Severity::warning,
            "TLS certificate of probe " + cfg_.name + " expires " + format_iso8601(*resp.cert_expiry) + " (in " +
                format_duration(duration_cast<std::chrono::hours>(std::max(left, WallTime::duration(0)))) + ")",
            "");
  } else if (left >= cfg_.tls.expiry_warning && cert_warning_) {
    cert_warning_ = false;
    publish("cert_expiring", events::Status::resolved, config::Severity::warning,
            "TLS certificate of probe " + cfg_.name + " renewed: expires " + format_iso8601(*resp.cert_expiry), "");
  }
}

void Probe::prune_restarts() {
  const auto horizon = ctx_.clock.mono_now() - cfg_.remedy->window;
  while (!restarts_.empty() && restarts_.front() <= horizon) {
    restarts_.pop_front();
  }
}

void Probe::maybe_restart() {
  if (!remedy_ || restarting_ || verifying_ || breaker_ || paused_now()) {
    return;
  }
  const auto& r = *cfg_.remedy;
  prune_restarts();
  if (static_cast<int>(restarts_.size()) >= r.max_restarts) {
    breaker_ = true;
    logger()->warn("probe={} event=RESTART_LIMIT restarts={} window={} cooldown={}", cfg_.name, restarts_.size(),
                   format_duration(r.window), format_duration(r.cooldown));
    publish("restart_limit", events::Status::firing, cfg_.severity,
            "probe " + cfg_.name + ": " + std::to_string(restarts_.size()) + " restarts in " +
                format_duration(r.window) + " did not bring it back; not restarting for " + format_duration(r.cooldown),
            reason_);
    std::weak_ptr<Probe> weak = weak_from_this();
    remedy_timer_ = ctx_.clock.call_after(r.cooldown, [weak] {
      auto self = weak.lock();
      if (!self) {
        return;
      }
      self->breaker_ = false;
      self->restarts_.clear();
      logger()->info("probe={} event=RESTART_REARMED after cooldown", self->cfg_.name);
      self->publish("restart_limit", events::Status::resolved, self->cfg_.severity,
                    "probe " + self->cfg_.name + ": restarts re-armed after the cooldown", "");
      if (self->state_ == State::down) {
        self->maybe_restart();
      }
    });
    return;
  }
  restarts_.push_back(ctx_.clock.mono_now());
  restarting_ = true;
  restart_started_ = ctx_.clock.now();
  logger()->warn("probe={} event=RESTART remedy={} reason={} restarts_in_window={}", cfg_.name, remedy_->describe(),
                 log::quote(reason_), restarts_.size());
  std::weak_ptr<Probe> weak = weak_from_this();
  remedy_->run([weak](remedies::Outcome o) {
    if (auto self = weak.lock()) {
      self->on_remedy_done(o);
    }
  });
}

void Probe::on_remedy_done(const remedies::Outcome& outcome) {
  restarting_ = false;
  if (retired_) {
    return;
  }
  if (!outcome.ok) {
    logger()->warn("probe={} event=RESTART_FAILED detail={}", cfg_.name, log::quote(outcome.detail));
    record_restart("restart_failed", outcome.detail, outcome.output, outcome.duration);
    publish("restart_failed", events::Status::firing, cfg_.severity,
            "probe " + cfg_.name + ": restart failed: " + outcome.detail, outcome.output);
    return;
  }
  // Verified remediation: the restart counts only if the probe passes again within `settle`.
  verifying_ = true;
  restart_detail_ = outcome.detail;
  restart_output_ = outcome.output;
  in_flight_.reset();
  std::weak_ptr<Probe> weak = weak_from_this();
  remedy_timer_ = ctx_.clock.call_after(cfg_.remedy->settle, [weak] {
    if (auto self = weak.lock()) {
      self->verify();
    }
  });
}

void Probe::verify() {
  std::weak_ptr<Probe> weak = weak_from_this();
  in_flight_ = ctx_.http.send(request(), [weak](http::Response resp) {
    auto self = weak.lock();
    if (!self) {
      return;
    }
    self->in_flight_.reset();
    self->verifying_ = false;
    const auto v = evaluate(self->cfg_, self->regex_.get(), resp);
    self->on_verified(v.up, v.reason);
    self->on_response(resp);
  });
}

void Probe::on_verified(bool up, const std::string& reason) {
  const auto duration = duration_cast<milliseconds>(ctx_.clock.now() - restart_started_);
  if (up) {
    logger()->info("probe={} event=RESTARTED detail={} verified=up", cfg_.name, log::quote(restart_detail_));
    record_restart("restarted", restart_detail_ + "; up after " + format_duration(cfg_.remedy->settle), restart_output_,
                   duration);
    if (cfg_.remedy->notify == config::RemedyNotify::all) {
      publish("restarted", events::Status::firing, config::Severity::info,
              "probe " + cfg_.name + " restarted (" + remedy_->describe() + ") and is up again", restart_detail_);
    }
  } else {
    const auto why =
        "restart did not help: still failing after " + format_duration(cfg_.remedy->settle) + " (" + reason + ")";
    logger()->warn("probe={} event=RESTART_FAILED detail={}", cfg_.name, log::quote(why));
    record_restart("restart_failed", why, restart_output_, duration);
    publish("restart_failed", events::Status::firing, cfg_.severity, "probe " + cfg_.name + ": " + why,
            restart_detail_);
  }
}

void Probe::record_restart(const std::string& outcome, const std::string& reason, const std::string& output,
                           std::chrono::milliseconds duration) {
  ctx_.store.put_run({cfg_.name, "probe", ctx_.next_run_id(), 1, restart_started_, ctx_.clock.now(), duration.count(),
                      outcome, std::nullopt, std::nullopt, reason, output});
}

void Probe::pause(std::optional<WallTime> until) {
  pause_.hold(ctx_.clock, until, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->resume();
    }
  });
  logger()->info("probe={} event=PAUSE until={}", cfg_.name, until ? format_iso8601(*until) : "resume");
}

void Probe::resume() {
  if (pause_.release()) {
    logger()->info("probe={} event=RESUME", cfg_.name);
  }
}

Status Probe::status() const {
  Status s;
  s.state = state_;
  s.paused = paused_now();
  s.paused_until = pause_.until();
  s.last_run = last_run_;
  const auto now = ctx_.clock.mono_now();
  s.next_run = ctx_.clock.now() + duration_cast<milliseconds>(next_at_ - now);
  s.last_result = last_result_;
  s.reason = reason_;
  s.latency_ms = latency_ms_;
  s.consecutive_failures = failures_;
  if (cfg_.remedy) {
    const auto horizon = now - cfg_.remedy->window;
    for (auto t : restarts_) {
      s.restarts_in_window += t > horizon ? 1 : 0;
    }
  }
  s.breaker_open = breaker_;
  s.cert_expiry = cert_expiry_;
  return s;
}

void Probe::publish(const std::string& event, events::Status status, config::Severity severity, std::string summary,
                    std::string detail) {
  events::Event e;
  e.kind = events::Kind::probe;
  e.name = cfg_.name;
  e.event = event;
  e.status = status;
  e.severity = severity;
  e.summary = std::move(summary);
  e.detail = std::move(detail);
  e.at = ctx_.clock.now();
  e.labels = {{"url", redact_url(cfg_.url)}, {"latency_ms", std::to_string(latency_ms_)}};
  if (event == "down" && cfg_.remedy && cfg_.remedy->notify == config::RemedyNotify::failures) {
    // `notify: failures`: the remedy handles a down probe; people hear of it only when a restart
    // fails or hits the limit (restart_failed, restart_limit). Alerting holds the notification.
    e.labels["hold"] = "remedy";
  }
  ctx_.bus.publish(e);
}

}  // namespace tend::probes
