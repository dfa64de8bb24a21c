#include "probes/probe.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <cstdio>
#include <functional>

#include "entries/documents.hpp"
#include "http/url.hpp"
#include "util/log.hpp"
#include "util/spread.hpp"

namespace tend::probes {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

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

Context Context::from(entries::Services& s) {
  return Context{
      s.clock,       s.http,
      s.store,       s.bus,
      s.next_run_id, [&ctx = s.remedies](const remedies::RemedyConfig& r) { return remedies::make_remedy(r, ctx); },
      &s.spread};
}

Probe::Probe(Context ctx, std::shared_ptr<const ProbeConfig> cfg)
    : Entry(ProbeConfig::kKind, cfg->name, ctx.clock, log::get("probes")), ctx_(std::move(ctx)) {
  update(std::move(cfg));
}

int Probe::start(const entries::Saved& saved) {
  const auto& last = saved.last;
  if (last && last->kind == ProbeConfig::kKind && (last->outcome == "up" || last->outcome == "down")) {
    // After a restart, start from what was last seen rather than "unknown": a probe that was down
    // stays down (no second "down" alert) until it is seen up.
    state_ = last->outcome == "up" ? State::up : State::down;
    last_result_ = last->outcome;
    reason_ = last->reason;
    last_run_ = last->started_at;
    latency_ms_ = last->duration_ms;
    if (state_ == State::down) {
      failures_ = cfg_->failure_threshold;
    }
  }
  place();
  // The first probe soon, so status is known shortly after start; then the grid.
  const auto now = ctx_.clock.mono_now();
  const auto early = now + Spread::phase(cfg_->name, std::min<Duration>(cfg_->interval, std::chrono::seconds(5)));
  if (ctx_.spread == nullptr) {
    phase_ = Duration(early.time_since_epoch().count() % cfg_->interval.count());  // the grid goes through it
  }
  next_at_ = std::min(early, grid_after(now));
  schedule_next();
  return 0;
}

Probe::~Probe() {
  if (ctx_.spread != nullptr) {
    ctx_.spread->release(cfg_->name);
  }
}

void Probe::place() {
  if (ctx_.spread != nullptr) {
    phase_ = ctx_.spread->place(cfg_->name, cfg_->interval);
  }
}

MonoTime Probe::grid_after(MonoTime t) const {
  const auto since = std::chrono::duration_cast<Duration>(t.time_since_epoch()) - phase_;
  const auto k = since.count() >= 0 ? since / cfg_->interval + 1 : 0;
  return MonoTime(std::chrono::duration_cast<MonoTime::duration>(phase_ + k * cfg_->interval));
}

void Probe::update(std::shared_ptr<const ProbeConfig> cfg) {
  const bool interval_changed = !cfg_ || cfg->interval != cfg_->interval;
  cfg_ = std::move(cfg);
  regex_.reset();
  if (!cfg_->expect.body_regex.empty()) {
    auto r = BodyRegex::compile(cfg_->expect.body_regex);
    if (r) {
      regex_ = *r;
    } else {
      logger()->error("probe={} {}", cfg_->name, r.error());
    }
  }
  remedy_.reset();
  if (cfg_->remedy) {
    remedy_ = ctx_.make_remedy(*cfg_->remedy);
  }
  if (interval_changed && timer_) {
    place();
    next_at_ = grid_after(ctx_.clock.mono_now());
    schedule_next();
  }
}

void Probe::retire() {
  retired_ = true;
  timer_.reset();
  remedy_timer_.reset();
  in_flight_.reset();
}

void Probe::schedule_next() {
  if (retired_) {
    return;
  }
  // Woken on the slack's grid, with whatever else is due then; the request grid stays next_at_.
  timer_ = ctx_.clock.call_at(coalesce(next_at_, cfg_->interval), lifetime_.guard([this] { fire(); }));
}

http::Request Probe::request() const {
  http::Request r;
  r.method = cfg_->method;
  r.url = cfg_->url;
  r.headers = cfg_->headers;
  r.body = cfg_->body;
  r.unix_socket = cfg_->unix_socket;
  r.timeout = cfg_->timeout;
  r.verify_tls = cfg_->tls.verify;
  r.follow_redirects = cfg_->follow_redirects;
  r.fresh_connection = !cfg_->reuse_connection;
  return r;
}

void Probe::fire() {
  // Fixed-rate on the grid of the monotonic clock (no drift); after a stall, resume without a burst.
  next_at_ = grid_after(ctx_.clock.mono_now());
  schedule_next();
  if (paused() || verifying_) {
    return;
  }
  if (in_flight_) {
    logger()->debug("probe={} previous request still in flight; tick skipped", cfg_->name);
    return;
  }
  in_flight_ = ctx_.http.send(request(), lifetime_.guard([this](const http::Response& resp) {
    in_flight_.reset();
    on_response(resp);
  }));
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
  ctx_.store.put_run({cfg_->name, std::string(ProbeConfig::kKind), ctx_.next_run_id(), 1, now - resp.latency, now,
                      resp.latency.count(), last_result_,
                      resp.failure == http::Failure::none ? std::optional<int>(resp.status) : std::nullopt,
                      std::nullopt, verdict.reason, ""});
}

void Probe::on_response(const http::Response& resp) {
  const auto verdict = evaluate(*cfg_, regex_.get(), resp);
  const auto now = ctx_.clock.now();
  last_run_ = now - resp.latency;
  latency_ms_ = resp.latency.count();
  last_result_ = verdict.up ? "up" : "down";
  reason_ = verdict.reason;
  ++(verdict.up ? results_up_ : results_down_);
  if (resp.failure == http::Failure::none) {
    latency_.observe(std::chrono::duration<double>(resp.latency).count());
  }
  record_result(resp, verdict, now);
  logger()->debug("probe={} result={} status={} latency_ms={} reason={}", cfg_->name, last_result_, resp.status,
                  latency_ms_, log::quote(verdict.reason));
  check_certificate(resp);
  judge(verdict, resp);
}

void Probe::judge(const Verdict& v, const http::Response& /*resp*/) {
  if (v.up) {
    ++successes_;
    failures_ = 0;
    if (state_ != State::up && (state_ == State::unknown || successes_ >= cfg_->success_threshold)) {
      const bool was_down = state_ == State::down;
      state_ = State::up;
      logger()->info("probe={} event=UP latency_ms={}", cfg_->name, latency_ms_);
      if (was_down) {
        publish(events::types::probe_down, events::Status::resolved, "probe " + cfg_->name + " is up again", "");
      }
    }
    if (state_ == State::up && breaker_) {
      // The circuit breaker re-arms by itself once the target is healthy again.
      breaker_ = false;
      restarts_.clear();
      remedy_timer_.reset();
      publish(events::types::probe_restart_limit, events::Status::resolved,
              "probe " + cfg_->name + " is up again; restarts re-armed", "");
    }
    return;
  }
  ++failures_;
  successes_ = 0;
  if (state_ != State::down && failures_ >= cfg_->failure_threshold) {
    state_ = State::down;
    logger()->warn("probe={} event=DOWN failures={} reason={}", cfg_->name, failures_, log::quote(v.reason));
    publish(events::types::probe_down, events::Status::firing,
            "probe " + cfg_->name + " is down: " + v.reason + " (" + std::to_string(failures_) + " failures in a row)",
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
  if (left < cfg_->tls.expiry_warning && !cert_warning_) {
    cert_warning_ = true;
    publish(events::types::probe_cert_expiring, events::Status::firing,
            "TLS certificate of probe " + cfg_->name + " expires " + format_iso8601(*resp.cert_expiry) + " (in " +
                format_duration(duration_cast<std::chrono::hours>(std::max(left, WallTime::duration(0)))) + ")",
            "");
  } else if (left >= cfg_->tls.expiry_warning && cert_warning_) {
    cert_warning_ = false;
    publish(events::types::probe_cert_expiring, events::Status::resolved,
            "TLS certificate of probe " + cfg_->name + " renewed: expires " + format_iso8601(*resp.cert_expiry), "");
  }
}

void Probe::prune_restarts() {
  const auto horizon = ctx_.clock.mono_now() - cfg_->remedy->window;
  restarts_.erase(restarts_.begin(),
                  std::find_if(restarts_.begin(), restarts_.end(), [&](MonoTime t) { return t > horizon; }));
}

void Probe::maybe_restart() {
  if (!remedy_ || restarting_ || verifying_ || breaker_ || paused()) {
    return;
  }
  const auto& r = *cfg_->remedy;
  prune_restarts();
  if (static_cast<int>(restarts_.size()) >= r.max_restarts) {
    breaker_ = true;
    logger()->warn("probe={} event=RESTART_LIMIT restarts={} window={} cooldown={}", cfg_->name, restarts_.size(),
                   format_duration(r.window), format_duration(r.cooldown));
    publish(events::types::probe_restart_limit, events::Status::firing,
            "probe " + cfg_->name + ": " + std::to_string(restarts_.size()) + " restarts in " +
                format_duration(r.window) + " did not bring it back; not restarting for " + format_duration(r.cooldown),
            reason_);
    remedy_timer_ = ctx_.clock.call_after(r.cooldown, lifetime_.guard([this] {
      breaker_ = false;
      restarts_.clear();
      logger()->info("probe={} event=RESTART_REARMED after cooldown", cfg_->name);
      publish(events::types::probe_restart_limit, events::Status::resolved,
              "probe " + cfg_->name + ": restarts re-armed after the cooldown", "");
      if (state_ == State::down) {
        maybe_restart();
      }
    }));
    return;
  }
  restarts_.push_back(ctx_.clock.mono_now());
  restarting_ = true;
  restart_started_ = ctx_.clock.now();
  logger()->warn("probe={} event=RESTART remedy={} reason={} restarts_in_window={}", cfg_->name, remedy_->describe(),
                 log::quote(reason_), restarts_.size());
  remedy_->run(lifetime_.guard([this](const remedies::Outcome& o) { on_remedy_done(o); }));
}

void Probe::on_remedy_done(const remedies::Outcome& outcome) {
  restarting_ = false;
  if (retired_) {
    return;
  }
  if (!outcome.ok) {
    logger()->warn("probe={} event=RESTART_FAILED detail={}", cfg_->name, log::quote(outcome.detail));
    record_restart("restart_failed", outcome.detail, outcome.output, outcome.duration);
    publish(events::types::probe_restart_failed, events::Status::firing,
            "probe " + cfg_->name + ": restart failed: " + outcome.detail, outcome.output);
    return;
  }
  // Verified remediation: the restart counts only if the probe passes again within `settle`.
  verifying_ = true;
  restart_detail_ = outcome.detail;
  restart_output_ = outcome.output;
  in_flight_.reset();
  remedy_timer_ = ctx_.clock.call_after(cfg_->remedy->settle, lifetime_.guard([this] { verify(); }));
}

void Probe::verify() {
  in_flight_ = ctx_.http.send(request(), lifetime_.guard([this](const http::Response& resp) {
    in_flight_.reset();
    verifying_ = false;
    const auto v = evaluate(*cfg_, regex_.get(), resp);
    on_verified(v.up, v.reason);
    on_response(resp);
  }));
}

void Probe::on_verified(bool up, const std::string& reason) {
  const auto duration = duration_cast<milliseconds>(ctx_.clock.now() - restart_started_);
  if (up) {
    logger()->info("probe={} event=RESTARTED detail={} verified=up", cfg_->name, log::quote(restart_detail_));
    record_restart("restarted", restart_detail_ + "; up after " + format_duration(cfg_->remedy->settle),
                   restart_output_, duration);
    if (cfg_->remedy->notify == remedies::Notify::all) {
      publish(events::types::probe_restarted, events::Status::firing,
              "probe " + cfg_->name + " restarted (" + remedy_->describe() + ") and is up again", restart_detail_);
    }
  } else {
    const auto why =
        "restart did not help: still failing after " + format_duration(cfg_->remedy->settle) + " (" + reason + ")";
    logger()->warn("probe={} event=RESTART_FAILED detail={}", cfg_->name, log::quote(why));
    record_restart("restart_failed", why, restart_output_, duration);
    publish(events::types::probe_restart_failed, events::Status::firing, "probe " + cfg_->name + ": " + why,
            restart_detail_);
  }
}

void Probe::record_restart(const std::string& outcome, const std::string& reason, const std::string& output,
                           std::chrono::milliseconds duration) {
  ++(outcome == "restarted" ? restarts_ok_ : restarts_failed_);
  ctx_.store.put_run({cfg_->name, std::string(ProbeConfig::kKind), ctx_.next_run_id(), 1, restart_started_,
                      ctx_.clock.now(), duration.count(), outcome, std::nullopt, std::nullopt, reason, output});
}

void Probe::metrics(metrics::Collector& c) const {
  using metrics::Type;
  entry_series(c, to_string(state_));
  const std::string_view name = cfg_->name;
  if (state_ != State::unknown) {
    c.family("tend_probe_up", "1 when the probe is up, 0 when down (after thresholds); absent until known.",
             Type::gauge, {"name"})
        .sample({name}, state_ == State::up ? 1 : 0);
  }
  c.family("tend_probe_latency_seconds", "Latency of probe requests that got an answer.", Type::histogram, {"name"})
      .histogram({name}, latency_);
  auto& results = c.family("tend_probe_results_total", "Single probe results (before thresholds), since tendd started.",
                           Type::counter, {"name", "result"});
  results.sample({name, "up"}, results_up_);
  results.sample({name, "down"}, results_down_);
  c.family("tend_probe_consecutive_failures", "Failed probe results in a row.", Type::gauge, {"name"})
      .sample({name}, failures_);
  if (cfg_->remedy) {
    auto& restarts = c.family("tend_probe_restarts_total",
                              "Remedy restarts: success (up again within settle) or failure, since tendd started.",
                              Type::counter, {"name", "result"});
    restarts.sample({name, "success"}, restarts_ok_);
    restarts.sample({name, "failure"}, restarts_failed_);
    c.family("tend_probe_restart_limit", "1 while restarts are suspended after max_restarts.", Type::gauge, {"name"})
        .sample({name}, breaker_ ? 1 : 0);
  }
  if (cert_expiry_) {
    c.family("tend_probe_cert_expiry_timestamp_seconds", "When the target's TLS certificate expires.", Type::gauge,
             {"name"})
        .sample({name}, metrics::unix_seconds(*cert_expiry_));
  }
}

Status Probe::status() const {
  Status s;
  s.state = state_;
  s.paused = paused();
  s.paused_until = paused_until();
  s.last_run = last_run_;
  const auto now = ctx_.clock.mono_now();
  s.next_run = ctx_.clock.now() + duration_cast<milliseconds>(next_at_ - now);
  s.last_result = last_result_;
  s.reason = reason_;
  s.latency_ms = latency_ms_;
  s.consecutive_failures = failures_;
  if (cfg_->remedy) {
    const auto horizon = now - cfg_->remedy->window;
    for (auto t : restarts_) {
      s.restarts_in_window += t > horizon ? 1 : 0;
    }
  }
  s.breaker_open = breaker_;
  s.cert_expiry = cert_expiry_;
  return s;
}

boost::json::object Probe::status_entry() const {
  const auto s = status();
  auto o = status_head(to_string(s.state));
  o["last_result"] = s.last_result.empty() ? boost::json::value(nullptr) : boost::json::value(s.last_result);
  o["last_run"] = entries::time_or_null(s.last_run);
  o["next_run"] = s.paused ? boost::json::value(nullptr) : entries::time_or_null(s.next_run);
  o["consecutive_failures"] = s.consecutive_failures;
  o["latency_ms"] = s.latency_ms >= 0 ? boost::json::value(s.latency_ms) : boost::json::value(nullptr);
  o["reason"] = s.reason;
  o["restarts_in_window"] = s.restarts_in_window;
  o["restart_limit"] = s.breaker_open;
  o["cert_expires_at"] = entries::time_or_null(s.cert_expiry);
  o["url"] = http::redact_url(cfg_->url);
  return o;
}

std::string Probe::digest_line(const state::EntrySummary& r) const {
  const double uptime = r.runs > 0 ? 100.0 * (r.runs - r.failures) / r.runs : 0.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", uptime);
  return "probe " + r.entry + ": uptime " + (r.runs > 0 ? std::string(buf) : "n/a") + " (" +
         std::to_string(r.failures) + " down of " + std::to_string(r.runs) + " results)";
}

void Probe::publish(const events::EventType& type, events::Status status, std::string summary, std::string detail) {
  auto e = events::Event::of(type, cfg_->name, status);
  e.severity = events::severity_for(type, cfg_->severity);
  e.summary = std::move(summary);
  e.detail = std::move(detail);
  e.at = ctx_.clock.now();
  e.labels = {{"url", http::redact_url(cfg_->url)}, {"latency_ms", std::to_string(latency_ms_)}};
  // `notify: failures`: the remedy handles a down probe; people hear of it only when a restart
  // fails or hits the limit (restart_failed, restart_limit). Alerting records it, never sends it.
  e.hold = &type == &events::types::probe_down && cfg_->remedy && cfg_->remedy->notify == remedies::Notify::failures;
  ctx_.bus.publish(e);
}

const entries::KindSpec& kind() {
  static const entries::KindSpec spec{section(), [](entries::Services& s, const config::EntryConfig& cfg) {
                                        return std::make_shared<Probe>(Context::from(s), cfg.shared<ProbeConfig>());
                                      }};
  return spec;
}

}  // namespace tend::probes
