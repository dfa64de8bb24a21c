#include "checks/check.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "entries/documents.hpp"
#include "metrics/exposition.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace tend::checks {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

}  // namespace

const char* to_string(State s) {
  switch (s) {
    case State::fresh:
      return "new";
    case State::up:
      return "up";
    case State::late:
      return "late";
    case State::failing:
      return "failing";
  }
  return "?";
}

std::optional<Report::What> parse_what(std::string_view text) {
  if (text == "start") {
    return Report::What::start;
  }
  if (text == "success") {
    return Report::What::success;
  }
  if (text == "fail") {
    return Report::What::fail;
  }
  if (text == "exit") {
    return Report::What::exit;
  }
  return std::nullopt;
}

Expected<Report> parse_report(const boost::json::object& req) {
  Report r;
  const auto* exit_code = req.if_contains("exit_code");
  if (exit_code != nullptr && !exit_code->is_null()) {
    if (!exit_code->is_int64() || exit_code->as_int64() < 0 || exit_code->as_int64() > 255) {
      return Error{"\"exit_code\" must be an integer from 0 to 255"};
    }
    r.exit_code = static_cast<int>(exit_code->as_int64());
    r.what = Report::What::exit;
  }
  if (const auto* w = req.if_contains("what"); w != nullptr && !w->is_null()) {
    auto what = w->is_string() ? parse_what(std::string_view(w->as_string())) : std::nullopt;
    if (!what) {
      return Error{"\"what\" must be start, success, fail or exit"};
    }
    r.what = *what;
  }
  if (r.what == Report::What::exit && !r.exit_code) {
    return Error{"\"what\":\"exit\" needs \"exit_code\""};
  }
  if (const auto* d = req.if_contains("duration_ms"); d != nullptr && !d->is_null()) {
    constexpr std::int64_t max_ms = std::int64_t{366} * 24 * 3600 * 1000;
    if (!d->is_int64() || d->as_int64() < 0 || d->as_int64() > max_ms) {
      return Error{"\"duration_ms\" must be an integer from 0 to a year's worth"};
    }
    r.duration_ms = d->as_int64();
  }
  if (const auto* o = req.if_contains("output"); o != nullptr && !o->is_null()) {
    if (!o->is_string()) {
      return Error{"\"output\" must be a string"};
    }
    constexpr std::size_t max_output = std::size_t{64} * 1024;
    const std::string_view text(o->as_string());
    r.output = valid_utf8(text.substr(text.size() > max_output ? text.size() - max_output : 0));
  }
  if (const auto* why = req.if_contains("reason"); why != nullptr && !why->is_null()) {
    if (!why->is_string()) {
      return Error{"\"reason\" must be a string"};
    }
    r.reason = head_utf8(why->as_string(), 200);  // whole characters: no U+FFFD from the cut
    std::replace_if(
        r.reason.begin(), r.reason.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  }
  return r;
}

Check::Check(Context ctx, std::shared_ptr<const CheckConfig> cfg)
    : Entry(CheckConfig::kKind, cfg->name, ctx.clock, log::get("checks")), ctx_(std::move(ctx)), cfg_(std::move(cfg)) {}

int Check::start(const entries::Saved& saved) {
  anchor_ = ctx_.clock.now();
  auto last = saved.last;
  if (last && last->kind != CheckConfig::kKind) {
    last.reset();
  }
  // Restore from the newest record, so a restart neither forgets a failure nor restarts the
  // clock of a check that was up: its deadline still counts from its last report.
  const WallTime end = last ? last->ended_at.value_or(last->started_at) : anchor_;
  if (!last) {
    // Never reported: watching begins now.
  } else if (last->outcome == "success") {
    state_ = State::up;
    anchor_ = end;
    last_success_ = end;
  } else if (last->outcome == "failure") {
    state_ = State::failing;
    anchor_ = end;
    failure_firing_ = true;
    consecutive_failures_ = 1;  // at least; the exact streak is not stored
    reason_ = last->reason;
  } else if (last->outcome == "late") {
    state_ = State::late;
    anchor_ = end;
    late_firing_ = true;
    reason_ = last->reason;
  } else if (last->outcome == "started") {
    state_ = State::up;
    open_start_ = last->started_at;
    open_run_id_ = last->run_id;
  }
  if (last) {
    last_ = std::move(last);
    last_->output.clear();
  }
  retired_ = false;
  plan();
  logger()->info("check={} event=WATCH state={} expected={} deadline={}", cfg_->name, to_string(state_),
                 expected_ ? format_iso8601(*expected_) : "-", deadline_ ? format_iso8601(*deadline_) : "-");
  return 0;
}

Check::~Check() { retire(); }

void Check::update(std::shared_ptr<const CheckConfig> cfg) {
  cfg_ = std::move(cfg);
  plan();
  logger()->info("check={} event=UPDATE deadline={}", cfg_->name, deadline_ ? format_iso8601(*deadline_) : "-");
}

void Check::retire() {
  retired_ = true;
  deadline_timer_.reset();
}

void Check::replan() {
  if (!retired_) {
    plan();
  }
}

std::optional<WallTime> Check::expected_after(WallTime anchor) const {
  if (cfg_->every) {
    return anchor + *cfg_->every;
  }
  if (!cfg_->schedule) {
    return std::nullopt;
  }
  if (const auto* every = std::get_if<schedule::Every>(&cfg_->schedule->kind)) {
    return anchor + every->interval;
  }
  if (auto next = cfg_->schedule->next_after(std::chrono::floor<std::chrono::seconds>(anchor))) {
    return WallTime(*next);
  }
  return std::nullopt;  // @reboot, or a schedule that never fires again: never late
}

void Check::plan() {
  deadline_timer_.reset();
  expected_.reset();
  deadline_.reset();
  if (retired_) {
    return;
  }
  if (open_start_) {
    // Started: the end is due within grace (a start without an end is a hung run).
    deadline_ = *open_start_ + cfg_->grace;
    expected_ = deadline_;
  } else {
    expected_ = expected_after(anchor_);
    if (!expected_) {
      return;
    }
    deadline_ = *expected_ + cfg_->grace;
  }
  if (state_ == State::late) {
    return;  // already late: the next report, not a timer, changes that
  }
  const auto delay = std::chrono::ceil<milliseconds>(*deadline_ - ctx_.clock.now());
  deadline_timer_ = ctx_.clock.call_after(std::max(delay, milliseconds(0)), lifetime_.guard([this] { on_deadline(); }));
}

void Check::on_deadline() {
  const auto now = ctx_.clock.now();
  if (paused()) {
    logger()->info("check={} event=DEADLINE_WHILE_PAUSED deadline={}", cfg_->name, format_iso8601(*deadline_));
    anchor_ = now;
    open_start_.reset();
    missed_while_paused_ = true;
    plan();
    return;
  }
  std::string reason;
  if (open_start_) {
    reason = fmt::format("started at {}, no end after {}", format_iso8601(*open_start_), format_duration(cfg_->grace));
  } else if (cfg_->schedule) {
    reason = fmt::format("no report for the {} tick by {} (grace {})", format_iso8601(*expected_),
                         format_iso8601(*deadline_), format_duration(cfg_->grace));
  } else {
    reason = fmt::format("no report within {} + {} grace after {} ({})", format_duration(*cfg_->every),
                         format_duration(cfg_->grace), format_iso8601(anchor_),
                         last_ ? "the last report" : "when tend began watching");
  }
  state_ = State::late;
  reason_ = reason;
  state::RunRecord rec;
  rec.entry = cfg_->name;
  rec.kind = CheckConfig::kKind;
  rec.run_id = ctx_.next_run_id();
  rec.started_at = open_start_ ? *open_start_ : std::min(*expected_, now);
  rec.ended_at = now;
  rec.duration_ms = duration_cast<milliseconds>(now - rec.started_at).count();
  rec.outcome = "late";
  rec.reason = reason;
  ctx_.store.put_run(rec);
  last_ = rec;
  logger()->warn("check={} run={} event=LATE reason={}", cfg_->name, rec.run_id, log::quote(reason));
  publish(events::types::check_late, events::Status::firing, "check " + cfg_->name + " is late: " + reason, "",
          {{"run_id", std::to_string(rec.run_id)}, {"deadline", format_iso8601(*deadline_)}});
  late_firing_ = true;
  deadline_timer_.reset();
}

State Check::report(Report r) {
  const auto now = ctx_.clock.now();
  last_ping_ = now;
  if (r.what == Report::What::start) {
    if (open_start_) {
      // The previous run never reported its end: close its record rather than leave it open.
      state::RunRecord prev{cfg_->name,
                            std::string(CheckConfig::kKind),
                            open_run_id_,
                            1,
                            *open_start_,
                            now,
                            duration_cast<milliseconds>(now - *open_start_).count(),
                            "interrupted",
                            std::nullopt,
                            std::nullopt,
                            "interrupted: a new start arrived before its end",
                            ""};
      ctx_.store.put_run(prev);
    }
    open_start_ = now;
    open_run_id_ = ctx_.next_run_id();
    ctx_.store.put_run({cfg_->name, std::string(CheckConfig::kKind), open_run_id_, 1, now, now, 0, "started",
                        std::nullopt, std::nullopt, "started; no end reported yet", ""});
    logger()->info("check={} run={} event=START deadline={}", cfg_->name, open_run_id_,
                   format_iso8601(now + cfg_->grace));
    plan();
    return state_;
  }

  const bool ok =
      r.what == Report::What::success || (r.what == Report::What::exit && r.exit_code.has_value() && *r.exit_code == 0);
  const std::int64_t duration =
      r.duration_ms ? *r.duration_ms : (open_start_ ? duration_cast<milliseconds>(now - *open_start_).count() : 0);
  state::RunRecord rec;
  rec.entry = cfg_->name;
  rec.kind = CheckConfig::kKind;
  rec.run_id = open_start_ ? open_run_id_ : ctx_.next_run_id();
  rec.started_at = open_start_ ? *open_start_ : now - milliseconds(duration);
  rec.ended_at = now;
  rec.duration_ms = duration;
  rec.outcome = ok ? "success" : "failure";
  rec.exit_code = r.exit_code;
  if (!r.reason.empty()) {
    rec.reason = r.reason;
  } else if (r.exit_code) {
    rec.reason = "exit " + std::to_string(*r.exit_code);
  } else {
    rec.reason = ok ? "success reported" : "failure reported";
  }
  rec.output = std::move(r.output);
  const std::string detail = output_tail(rec.output);
  ctx_.store.put_run(rec);
  open_start_.reset();
  anchor_ = now;
  last_ = rec;
  last_->output.clear();

  const auto line =
      fmt::format("check={} run={} event={} exit={} duration_ms={} output_bytes={} reason={}", cfg_->name, rec.run_id,
                  ok ? "SUCCESS" : "FAILURE", rec.exit_code ? std::to_string(*rec.exit_code) : "-", rec.duration_ms,
                  rec.output.size(), log::quote(rec.reason));
  if (ok) {
    logger()->info("{}", line);
  } else {
    logger()->warn("{}", line);
  }

  if (late_firing_) {
    publish(events::types::check_late, events::Status::resolved,
            "check " + cfg_->name + " reported in again (" + rec.outcome + ")", "",
            {{"run_id", std::to_string(rec.run_id)}});
    late_firing_ = false;
  }
  if (ok) {
    if (failure_firing_) {
      publish(events::types::check_failure, events::Status::resolved,
              "check " + cfg_->name + " succeeded again after " + plural(consecutive_failures_, "failed report"), "",
              {{"run_id", std::to_string(rec.run_id)}});
      failure_firing_ = false;
    }
    state_ = State::up;
    consecutive_failures_ = 0;
    last_success_ = now;
    reason_.clear();
  } else {
    state_ = State::failing;
    ++consecutive_failures_;
    reason_ = rec.reason;
    if (!paused()) {
      publish(events::types::check_failure, events::Status::firing,
              "check " + cfg_->name + " failed (" + rec.reason + ")", detail,
              {{"run_id", std::to_string(rec.run_id)},
               {"exit_code", rec.exit_code ? std::to_string(*rec.exit_code) : ""},
               {"duration_ms", std::to_string(rec.duration_ms)}});
      failure_firing_ = true;
    }
  }
  plan();
  return state_;
}

void Check::on_resume() {
  if (missed_while_paused_) {
    // It was not expected to report during the pause (a deploy, a migration): give it a
    // whole period from now rather than the rest of one that began in the pause.
    missed_while_paused_ = false;
    anchor_ = ctx_.clock.now();
    plan();
  }
}

void Check::metrics(metrics::Collector& c) const {
  using metrics::Type;
  entry_series(c, to_string(state_));
  const std::string_view name = cfg_->name;
  if (last_ping_) {
    c.family("tend_check_last_ping_timestamp_seconds", "When the check last reported in (since tendd started).",
             Type::gauge, {"name"})
        .sample({name}, metrics::unix_seconds(*last_ping_));
  }
  if (last_success_) {
    c.family("tend_check_last_success_timestamp_seconds", "When the check last reported success.", Type::gauge,
             {"name"})
        .sample({name}, metrics::unix_seconds(*last_success_));
  }
  c.family("tend_check_consecutive_failures", "Failure reports and missed deadlines in a row.", Type::gauge, {"name"})
      .sample({name}, consecutive_failures_);
}

Status Check::status() const {
  Status s;
  s.state = state_;
  s.paused = paused();
  s.paused_until = paused_until();
  s.last = last_;
  s.last_success = last_success_;
  s.running_since = open_start_;
  s.expected = expected_;
  s.deadline = deadline_;
  s.consecutive_failures = consecutive_failures_;
  s.reason = reason_;
  return s;
}

Expected<boost::json::object> Check::report(const boost::json::object& request, WallTime /*now*/) {
  const auto mono = ctx_.clock.mono_now();
  if (ping_refilled_) {
    const double seconds = std::chrono::duration<double>(mono - *ping_refilled_).count();
    ping_tokens_ = std::min(kPingBurst, ping_tokens_ + seconds * kPingsPerSecond);
  }
  ping_refilled_ = mono;
  if (ping_tokens_ < 1) {
    return Error{"check " + cfg_->name + " takes at most " + std::to_string(static_cast<int>(kPingsPerSecond)) +
                 " pings a second (bursts of " + std::to_string(static_cast<int>(kPingBurst)) +
                 "): this one was refused, not recorded"};
  }
  ping_tokens_ -= 1;
  auto r = parse_report(request);
  if (!r) {
    return Error{r.error()};
  }
  const auto state = report(std::move(*r));
  boost::json::object doc;
  doc["name"] = cfg_->name;
  doc["state"] = to_string(state);
  return doc;
}

boost::json::object Check::status_entry() const {
  const auto s = status();
  auto o = status_head(to_string(s.state));
  o["last_result"] = s.last ? boost::json::value(s.last->outcome) : boost::json::value(nullptr);
  o["last_reason"] = !s.reason.empty() ? boost::json::value(s.reason)
                     : s.last          ? boost::json::value(s.last->reason)
                                       : boost::json::value(nullptr);
  o["last_run"] = s.last ? entries::time_or_null(s.last->started_at) : boost::json::value(nullptr);
  o["last_duration_ms"] = s.last ? boost::json::value(s.last->duration_ms) : boost::json::value(nullptr);
  o["last_exit_code"] =
      s.last && s.last->exit_code ? boost::json::value(*s.last->exit_code) : boost::json::value(nullptr);
  o["next_run"] = entries::time_or_null(s.expected);
  o["deadline"] = entries::time_or_null(s.deadline);
  o["last_success"] = entries::time_or_null(s.last_success);
  o["running"] = s.running_since.has_value();
  o["running_since"] = entries::time_or_null(s.running_since);
  o["consecutive_failures"] = s.consecutive_failures;
  o["schedule"] = cfg_->schedule ? cfg_->schedule->text : "every " + format_duration(cfg_->every.value_or(Duration(0)));
  o["grace"] = format_duration(cfg_->grace);
  return o;
}

void Check::publish(const events::EventType& type, events::Status status, std::string summary, std::string detail,
                    std::map<std::string, std::string> labels) {
  auto e = events::Event::of(type, cfg_->name, status);
  e.severity = events::severity_for(type, cfg_->severity);
  e.summary = std::move(summary);
  e.detail = std::move(detail);
  e.at = ctx_.clock.now();
  e.labels = std::move(labels);
  ctx_.bus.publish(e);
}

const entries::KindSpec& kind() {
  static const entries::KindSpec spec{section(),
                                      [](entries::Services& s, const config::EntryConfig& cfg) {
                                        return std::make_shared<Check>(Context::from(s), cfg.shared<CheckConfig>());
                                      },
                                      {"ping"}};
  return spec;
}

}  // namespace tend::checks
