#include "checks/check.hpp"

#include <fmt/format.h>

#include "util/log.hpp"

namespace tend::checks {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

const auto& logger() {
  static auto l = log::get("checks");
  return l;
}

/// The last `max_lines` lines of output (at most 2 KiB), for alert details.
std::string output_tail(const std::string& output, std::size_t max_lines = 20) {
  std::size_t end = output.size();
  while (end > 0 && output[end - 1] == '\n') {
    --end;
  }
  std::size_t pos = end;
  std::size_t lines = 0;
  while (pos > 0 && lines < max_lines && end - pos < 2048) {
    --pos;
    if (output[pos] == '\n') {
      ++lines;
    }
  }
  if (pos < end && output[pos] == '\n') {
    ++pos;
  }
  return output.substr(pos, end - pos);
}

std::string plural(int n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

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

Check::Check(Context& ctx, config::CheckConfig cfg, std::optional<state::RunRecord> last, WallTime since)
    : ctx_(ctx), cfg_(std::move(cfg)), anchor_(since) {
  if (!last) {
    return;
  }
  // Restore from the newest record, so a restart neither forgets a failure nor restarts the
  // clock of a check that was up: its deadline still counts from its last report.
  const WallTime end = last->ended_at.value_or(last->started_at);
  if (last->outcome == "success") {
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
  last_ = std::move(last);
  last_->output.clear();
}

Check::~Check() { retire(); }

void Check::start() {
  retired_ = false;
  plan();
  logger()->info("check={} event=WATCH state={} expected={} deadline={}", cfg_.name, to_string(state_),
                 expected_ ? format_iso8601(*expected_) : "-", deadline_ ? format_iso8601(*deadline_) : "-");
}

void Check::update(config::CheckConfig cfg) {
  cfg_ = std::move(cfg);
  plan();
  logger()->info("check={} event=UPDATE deadline={}", cfg_.name, deadline_ ? format_iso8601(*deadline_) : "-");
}

void Check::retire() {
  retired_ = true;
  deadline_timer_.reset();
  pause_.cancel();
}

void Check::replan() {
  if (!retired_) {
    plan();
  }
}

std::optional<WallTime> Check::expected_after(WallTime anchor) const {
  if (cfg_.every) {
    return anchor + *cfg_.every;
  }
  if (!cfg_.schedule) {
    return std::nullopt;
  }
  if (const auto* every = std::get_if<schedule::Every>(&cfg_.schedule->kind)) {
    return anchor + every->interval;
  }
  if (auto next = cfg_.schedule->next_after(std::chrono::floor<std::chrono::seconds>(anchor))) {
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
    deadline_ = *open_start_ + cfg_.grace;
    expected_ = deadline_;
  } else {
    expected_ = expected_after(anchor_);
    if (!expected_) {
      return;
    }
    deadline_ = *expected_ + cfg_.grace;
  }
  if (state_ == State::late) {
    return;  // already late: the next report, not a timer, changes that
  }
  const auto delay = std::chrono::ceil<milliseconds>(*deadline_ - ctx_.clock.now());
  deadline_timer_ = ctx_.clock.call_after(std::max(delay, milliseconds(0)), [this] { on_deadline(); });
}

void Check::on_deadline() {
  const auto now = ctx_.clock.now();
  if (paused_now()) {
    logger()->info("check={} event=DEADLINE_WHILE_PAUSED deadline={}", cfg_.name, format_iso8601(*deadline_));
    anchor_ = now;
    open_start_.reset();
    missed_while_paused_ = true;
    plan();
    return;
  }
  std::string reason;
  if (open_start_) {
    reason = fmt::format("started at {}, no end after {}", format_iso8601(*open_start_), format_duration(cfg_.grace));
  } else if (cfg_.schedule) {
    reason = fmt::format("no report for the {} tick by {} (grace {})", format_iso8601(*expected_),
                         format_iso8601(*deadline_), format_duration(cfg_.grace));
  } else {
    reason = fmt::format("no report within {} + {} grace after {} ({})", format_duration(*cfg_.every),
                         format_duration(cfg_.grace), format_iso8601(anchor_),
                         last_ ? "the last report" : "when tend began watching");
  }
  state_ = State::late;
  reason_ = reason;
  state::RunRecord rec;
  rec.entry = cfg_.name;
  rec.kind = "check";
  rec.run_id = ctx_.next_run_id();
  rec.started_at = open_start_ ? *open_start_ : std::min(*expected_, now);
  rec.ended_at = now;
  rec.duration_ms = duration_cast<milliseconds>(now - rec.started_at).count();
  rec.outcome = "late";
  rec.reason = reason;
  ctx_.store.put_run(rec);
  last_ = rec;
  logger()->warn("check={} run={} event=LATE reason={}", cfg_.name, rec.run_id, log::quote(reason));
  publish("late", events::Status::firing, "check " + cfg_.name + " is late: " + reason, "",
          {{"run_id", std::to_string(rec.run_id)}, {"deadline", format_iso8601(*deadline_)}});
  late_firing_ = true;
  deadline_timer_.reset();
}

State Check::report(Report r) {
  const auto now = ctx_.clock.now();
  if (r.what == Report::What::start) {
    if (open_start_) {
      // The previous run never reported its end: close its record rather than leave it open.
      state::RunRecord prev{cfg_.name,
                            "check",
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
    ctx_.store.put_run({cfg_.name, "check", open_run_id_, 1, now, now, 0, "started", std::nullopt, std::nullopt,
                        "started; no end reported yet", ""});
    logger()->info("check={} run={} event=START deadline={}", cfg_.name, open_run_id_,
                   format_iso8601(now + cfg_.grace));
    plan();
    return state_;
  }

  const bool ok =
      r.what == Report::What::success || (r.what == Report::What::exit && r.exit_code.has_value() && *r.exit_code == 0);
  const std::int64_t duration =
      r.duration_ms ? *r.duration_ms : (open_start_ ? duration_cast<milliseconds>(now - *open_start_).count() : 0);
  state::RunRecord rec;
  rec.entry = cfg_.name;
  rec.kind = "check";
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
      fmt::format("check={} run={} event={} exit={} duration_ms={} output_bytes={} reason={}", cfg_.name, rec.run_id,
                  ok ? "SUCCESS" : "FAILURE", rec.exit_code ? std::to_string(*rec.exit_code) : "-", rec.duration_ms,
                  rec.output.size(), log::quote(rec.reason));
  if (ok) {
    logger()->info("{}", line);
  } else {
    logger()->warn("{}", line);
  }

  if (late_firing_) {
    publish("late", events::Status::resolved, "check " + cfg_.name + " reported in again (" + rec.outcome + ")", "",
            {{"run_id", std::to_string(rec.run_id)}});
    late_firing_ = false;
  }
  if (ok) {
    if (failure_firing_) {
      publish("failure", events::Status::resolved,
              "check " + cfg_.name + " succeeded again after " + plural(consecutive_failures_, "failed report"), "",
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
    if (!paused_now()) {
      publish("failure", events::Status::firing, "check " + cfg_.name + " failed (" + rec.reason + ")", detail,
              {{"run_id", std::to_string(rec.run_id)},
               {"exit_code", rec.exit_code ? std::to_string(*rec.exit_code) : ""},
               {"duration_ms", std::to_string(rec.duration_ms)}});
      failure_firing_ = true;
    }
  }
  plan();
  return state_;
}

void Check::pause(std::optional<WallTime> until) {
  pause_.hold(ctx_.clock, until, [this] { resume(); });
  logger()->info("check={} event=PAUSE until={}", cfg_.name, until ? format_iso8601(*until) : "resume");
}

void Check::resume() {
  if (pause_.release()) {
    logger()->info("check={} event=RESUME", cfg_.name);
  }
  if (missed_while_paused_) {
    // It was not expected to report during the pause (a deploy, a migration): give it a
    // whole period from now rather than the rest of one that began in the pause.
    missed_while_paused_ = false;
    anchor_ = ctx_.clock.now();
    plan();
  }
}

bool Check::paused_now() const { return pause_.active(ctx_.clock.now()); }

Status Check::status() const {
  Status s;
  s.state = state_;
  s.paused = paused_now();
  s.paused_until = pause_.until();
  s.last = last_;
  s.last_success = last_success_;
  s.running_since = open_start_;
  s.expected = expected_;
  s.deadline = deadline_;
  s.consecutive_failures = consecutive_failures_;
  s.reason = reason_;
  return s;
}

void Check::publish(const std::string& event, events::Status status, std::string summary, std::string detail,
                    std::map<std::string, std::string> labels) {
  events::Event e;
  e.kind = events::Kind::check;
  e.name = cfg_.name;
  e.event = event;
  e.status = status;
  e.severity = cfg_.severity;
  e.summary = std::move(summary);
  e.detail = std::move(detail);
  e.at = ctx_.clock.now();
  e.labels = std::move(labels);
  ctx_.bus.publish(e);
}

}  // namespace tend::checks
