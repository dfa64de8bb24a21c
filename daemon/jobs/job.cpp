#include "jobs/job.hpp"

#include <csignal>
#include <cstring>

#include "jobs/retry.hpp"
#include "util/log.hpp"

namespace tend::jobs {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

const auto& logger() {
  static auto l = log::get("jobs");
  return l;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(sig);
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
  if (pos > 0 || (pos < output.size() && output[pos] == '\n')) {
    ++pos;
  }
  return output.substr(pos, end - pos);
}

const char* trigger_name(Trigger t) {
  switch (t) {
    case Trigger::schedule:
      return "schedule";
    case Trigger::manual:
      return "manual";
    case Trigger::catch_up:
      return "catch_up";
    case Trigger::reboot:
      return "reboot";
  }
  return "?";
}

}  // namespace

/// One run: its attempts share a run id.
struct Job::Run {
  std::int64_t id = 0;
  int attempt = 0;
  Trigger trigger = Trigger::schedule;
  WallTime attempt_started{};
  MonoTime attempt_started_mono{};
  std::shared_ptr<process::Child> child;
  std::unique_ptr<TimerHandle> delay_timer;  // jitter or retry wait
  std::unique_ptr<TimerHandle> slow_timer;
  bool slow_fired = false;
  bool stop_requested = false;
  std::string stop_reason;
  std::vector<RunDone> waiters;
  std::function<void()> on_stopped;  // replace: start the next run once this one is gone
  std::shared_ptr<Job> keep_alive;   // a job removed by reload lives until its runs end
};

Job::Job(Context& ctx, config::JobConfig cfg, std::optional<state::RunRecord> last)
    : ctx_(ctx), cfg_(std::move(cfg)), last_(std::move(last)) {
  if (last_ && (last_->outcome == "failure" || last_->outcome == "timeout")) {
    consecutive_failures_ = 1;  // at least; the exact streak is not stored
    firing_.insert(last_->outcome);
  }
}

Job::~Job() = default;

int Job::start(std::optional<WallTime> last_tick, bool boot) {
  int missed = 0;
  const auto now = ctx_.clock.now();
  const auto now_s = std::chrono::floor<std::chrono::seconds>(now);
  if (std::holds_alternative<schedule::CronExpr>(cfg_.schedule.kind)) {
    if (last_tick) {
      auto saved = std::chrono::floor<std::chrono::seconds>(*last_tick);
      std::optional<schedule::Seconds> first;
      std::optional<schedule::Seconds> last_missed;
      for (auto t = cfg_.schedule.next_after(saved); t && *t <= now_s && missed < 100000;
           t = cfg_.schedule.next_after(*t)) {
        if (!first) {
          first = *t;
        }
        last_missed = *t;
        ++missed;
      }
      if (missed > 0) {
        last_tick_ = *last_missed;
        ctx_.store.put_schedule({cfg_.name, WallTime(*last_missed)});
        std::string summary = "job " + cfg_.name + " missed " + std::to_string(missed) + " tick" +
                              (missed == 1 ? "" : "s") + " while the daemon was down (first " +
                              format_iso8601(WallTime(*first)) + ")";
        state::RunRecord rec;
        rec.entry = cfg_.name;
        rec.kind = "job";
        rec.run_id = ctx_.next_run_id();
        rec.started_at = WallTime(*first);
        rec.ended_at = WallTime(*last_missed);
        rec.outcome = "missed";
        rec.reason = std::to_string(missed) + " missed" + (cfg_.catch_up ? ", catching up" : "");
        ctx_.store.put_run(rec);
        logger()->warn("job={} run={} event=MISSED ticks={} first={} catch_up={}", cfg_.name, rec.run_id, missed,
                       format_iso8601(WallTime(*first)), cfg_.catch_up);
        if (alert_on("missed")) {
          publish("missed", events::Status::firing, config::Severity::warning, summary,
                  cfg_.catch_up ? "catch_up: running once now" : "catch_up is off: not run",
                  {{"ticks", std::to_string(missed)}, {"first", format_iso8601(WallTime(*first))}});
        }
      } else {
        last_tick_ = saved;
      }
    } else {
      // First start with this job: remember now as the baseline, so a later downtime is measurable.
      last_tick_ = now_s;
      ctx_.store.put_schedule({cfg_.name, WallTime(now_s)});
    }
  }
  plan();
  if (missed > 0 && cfg_.catch_up) {
    trigger(Trigger::catch_up, nullptr);
  }
  if (boot && std::holds_alternative<schedule::Reboot>(cfg_.schedule.kind)) {
    trigger(Trigger::reboot, nullptr);
  }
  return missed;
}

void Job::update(config::JobConfig cfg) {
  const bool schedule_changed = !(cfg.schedule == cfg_.schedule);
  cfg_ = std::move(cfg);
  if (schedule_changed) {
    last_tick_ = std::chrono::floor<std::chrono::seconds>(ctx_.clock.now());
  }
  plan();
}

void Job::retire() {
  retired_ = true;
  tick_timer_.reset();
  pause_.cancel();
  next_run_.reset();
}

void Job::replan() {
  if (retired_) {
    return;
  }
  if (std::holds_alternative<schedule::CronExpr>(cfg_.schedule.kind) && last_tick_) {
    const auto now_s = std::chrono::floor<std::chrono::seconds>(ctx_.clock.now());
    auto skipped = cfg_.schedule.next_after(*last_tick_);
    if (skipped && *skipped < now_s) {
      // The wall clock jumped over a tick: run it once now, as Vixie cron does for short jumps,
      // rather than silently losing it.
      logger()->warn("job={} event=CLOCK_STEP skipped_tick={} running it now", cfg_.name,
                     format_iso8601(WallTime(*skipped)));
      last_tick_ = now_s;
      ctx_.store.put_schedule({cfg_.name, WallTime(now_s)});
      on_tick(WallTime(*skipped));
      return;
    }
  }
  plan();
}

void Job::plan() {
  tick_timer_.reset();
  next_run_.reset();
  if (retired_) {
    return;
  }
  if (std::holds_alternative<schedule::CronExpr>(cfg_.schedule.kind)) {
    const auto now_s = std::chrono::floor<std::chrono::seconds>(ctx_.clock.now());
    // Plan from the later of now and the last handled tick: a timer that fires a hair early
    // (steady vs. wall clock) or a wall clock stepped back never runs a tick twice.
    auto from = last_tick_ ? std::max(*last_tick_, now_s - std::chrono::seconds(1)) : now_s;
    arm_cron(cfg_.schedule.next_after(from));
  } else if (const auto* every = std::get_if<schedule::Every>(&cfg_.schedule.kind)) {
    const auto interval = every->interval;
    const auto mono_now = ctx_.clock.mono_now();
    auto k = std::max<std::int64_t>(every_count_ + 1, (mono_now - ctx_.started_mono) / interval + 1);
    const auto at = ctx_.started_mono + k * interval;
    next_run_ = ctx_.clock.now() + duration_cast<milliseconds>(at - mono_now);
    tick_timer_ = ctx_.clock.call_at(at, [this, k] {
      every_count_ = k;
      on_tick(ctx_.clock.now());
    });
  }
}

void Job::arm_cron(std::optional<schedule::Seconds> next) {
  if (!next) {
    logger()->warn("job={} schedule={} never fires again", cfg_.name, log::quote(cfg_.schedule.text));
    return;
  }
  const auto tick = *next;
  next_run_ = WallTime(tick);
  // Rounded up, and checked again when the timer fires: a job due at 10:00:00 must not start at
  // 09:59:59.9995 (a truncated delay, or the monotonic clock running ahead of a slewed wall
  // clock), where its own `date` would still say the previous second, or the previous day.
  const auto delay = std::chrono::ceil<milliseconds>(WallTime(tick) - ctx_.clock.now());
  tick_timer_ = ctx_.clock.call_after(std::max(delay, milliseconds(0)), [this, tick, next] {
    if (ctx_.clock.now() < WallTime(tick)) {
      arm_cron(next);
      return;
    }
    last_tick_ = tick;
    ctx_.store.put_schedule({cfg_.name, WallTime(tick)});
    on_tick(WallTime(tick));
  });
}

void Job::on_tick(WallTime tick) {
  plan();
  if (paused_now()) {
    logger()->info("job={} event=PAUSED tick={}", cfg_.name, format_iso8601(tick));
    return;
  }
  trigger(Trigger::schedule, nullptr);
}

bool Job::paused_now() const { return pause_.active(ctx_.clock.now()); }

bool Job::alert_on(const std::string& event) const {
  return std::find(cfg_.alert_on.begin(), cfg_.alert_on.end(), event) != cfg_.alert_on.end();
}

Expected<std::int64_t> Job::run_now(RunDone on_done) {
  if (cfg_.concurrency == config::Concurrency::forbid && !runs_.empty()) {
    return Error{"job " + cfg_.name + " is already running (run " + std::to_string(runs_.back()->id) +
                 ") and its concurrency is forbid"};
  }
  return trigger(Trigger::manual, std::move(on_done));
}

std::int64_t Job::trigger(Trigger why, RunDone on_done) {
  if (!runs_.empty()) {
    switch (cfg_.concurrency) {
      case config::Concurrency::forbid: {
        const auto& running = runs_.back();
        record_skip("still running (run " + std::to_string(running->id) + ")", ctx_.clock.now());
        return 0;
      }
      case config::Concurrency::replace: {
        // Start the new run once every old one is gone; stop them all now.
        auto self = shared_from_this();
        auto pending = std::make_shared<std::size_t>(runs_.size());
        auto start_next = [self, why, on_done, pending]() mutable {
          if (--*pending == 0) {
            self->start_run(why, std::move(on_done));
          }
        };
        // Iterate a copy: a stopped run leaves runs_ from inside stop() when it ends at once.
        for (auto run : std::list<std::shared_ptr<Run>>(runs_)) {
          run->stop_requested = true;
          run->stop_reason = "replaced by a new run";
          run->on_stopped = start_next;
          run->delay_timer.reset();
          if (run->child) {
            run->child->stop();
          } else {
            // Waiting for jitter or a retry: no process to stop.
            state::RunRecord rec{cfg_.name,
                                 "job",
                                 run->id,
                                 std::max(run->attempt, 1),
                                 ctx_.clock.now(),
                                 ctx_.clock.now(),
                                 0,
                                 "interrupted",
                                 std::nullopt,
                                 std::nullopt,
                                 "interrupted: replaced by a new run",
                                 ""};
            ctx_.store.put_run(rec);
            finish_run(run, rec);
          }
        }
        return -1;
      }
      case config::Concurrency::allow:
        break;
    }
  }
  return start_run(why, std::move(on_done));
}

void Job::record_skip(const std::string& reason, WallTime at) {
  state::RunRecord rec;
  rec.entry = cfg_.name;
  rec.kind = "job";
  rec.run_id = ctx_.next_run_id();
  rec.started_at = at;
  rec.ended_at = at;
  rec.outcome = "skipped";
  rec.reason = "skipped: " + reason;
  ctx_.store.put_run(rec);
  logger()->warn("job={} run={} event=SKIPPED reason={}", cfg_.name, rec.run_id, log::quote(reason));
  // forbid means skip and tell someone: an overlapping tick is a tick that did not run.
  if (alert_on("missed")) {
    publish("missed", events::Status::firing, config::Severity::warning,
            "job " + cfg_.name + " skipped a tick: previous run " + reason, "",
            {{"run_id", std::to_string(rec.run_id)}});
  }
}

std::int64_t Job::start_run(Trigger why, RunDone on_done) {
  auto run = std::make_shared<Run>();
  run->id = ctx_.next_run_id();
  run->trigger = why;
  run->keep_alive = shared_from_this();
  if (on_done) {
    run->waiters.push_back(std::move(on_done));
  }
  runs_.push_back(run);
  const auto jitter =
      (why == Trigger::schedule && cfg_.jitter.count() > 0) ? ctx_.random_delay(cfg_.jitter) : Duration(0);
  if (jitter.count() > 0) {
    std::weak_ptr<Job> weak = weak_from_this();
    run->delay_timer = ctx_.clock.call_after(jitter, [weak, run] {
      if (auto self = weak.lock()) {
        self->start_attempt(run);
      }
    });
  } else {
    start_attempt(run);
  }
  return run->id;
}

void Job::run_builtin(const std::shared_ptr<Run>& run) {
  auto record = [this, run](bool ok, std::string reason, std::string output) {
    const auto now = ctx_.clock.now();
    state::RunRecord rec{cfg_.name,
                         "job",
                         run->id,
                         run->attempt,
                         run->attempt_started,
                         now,
                         std::chrono::duration_cast<std::chrono::milliseconds>(now - run->attempt_started).count(),
                         ok ? "success" : "failure",
                         std::nullopt,
                         std::nullopt,
                         std::move(reason),
                         std::move(output)};
    ctx_.store.put_run(rec);
    if (ok) {
      logger()->info("job={} run={} event=SUCCESS builtin={} reason={}", cfg_.name, run->id, cfg_.builtin,
                     log::quote(rec.reason));
    } else {
      logger()->warn("job={} run={} event=FAILURE builtin={} reason={}", cfg_.name, run->id, cfg_.builtin,
                     log::quote(rec.reason));
    }
    finish_run(run, rec);
  };
  if (!ctx_.run_builtin) {
    record(false, "builtin '" + cfg_.builtin + "' is not available", "");
    return;
  }
  ctx_.run_builtin(cfg_.name, cfg_.builtin, std::move(record));
}

void Job::start_attempt(const std::shared_ptr<Run>& run) {
  run->delay_timer.reset();
  ++run->attempt;
  run->attempt_started = ctx_.clock.now();
  run->attempt_started_mono = ctx_.clock.mono_now();
  run->slow_fired = false;

  if (!cfg_.builtin.empty()) {
    run_builtin(run);
    return;
  }

  process::Spec spec;
  if (!cfg_.shell.empty()) {
    spec.argv = {"/bin/sh", "-c", cfg_.shell};
  } else {
    spec.argv = cfg_.command;
  }
  spec.env = cfg_.env;
  spec.env["TEND_JOB"] = cfg_.name;
  spec.env["TEND_RUN_ID"] = std::to_string(run->id);
  spec.env["TEND_ATTEMPT"] = std::to_string(run->attempt);
  spec.workdir = cfg_.workdir;
  spec.user = cfg_.user;
  spec.timeout = cfg_.timeout;
  spec.kill_grace = cfg_.kill_grace;

  state::RunRecord rec{cfg_.name,    "job", run->id,   run->attempt, run->attempt_started,
                       std::nullopt, 0,     "running", std::nullopt, std::nullopt,
                       "",           ""};
  ctx_.store.put_run(rec);
  logger()->info("job={} run={} attempt={} event=START trigger={}", cfg_.name, run->id, run->attempt,
                 trigger_name(run->trigger));

  std::weak_ptr<Job> weak = weak_from_this();
  run->child = ctx_.launcher.spawn(spec, [weak, run](process::Result result) {
    if (auto self = weak.lock()) {
      self->on_attempt_exit(run, std::move(result));
    }
  });
  if (cfg_.warn_after) {
    run->slow_timer = ctx_.clock.call_after(*cfg_.warn_after, [this, run] {
      run->slow_fired = true;
      auto elapsed = duration_cast<milliseconds>(ctx_.clock.mono_now() - run->attempt_started_mono);
      logger()->warn("job={} run={} attempt={} event=SLOW running_for_ms={}", cfg_.name, run->id, run->attempt,
                     elapsed.count());
      if (alert_on("slow")) {
        publish("slow", events::Status::firing, config::Severity::warning,
                "job " + cfg_.name + " still running after " + format_duration(*cfg_.warn_after), "",
                {{"run_id", std::to_string(run->id)}});
      }
    });
  }
}

void Job::on_attempt_exit(const std::shared_ptr<Run>& run, process::Result result) {
  run->child.reset();
  run->slow_timer.reset();
  const auto ended = ctx_.clock.now();
  state::RunRecord rec;
  rec.entry = cfg_.name;
  rec.kind = "job";
  rec.run_id = run->id;
  rec.attempt = run->attempt;
  rec.started_at = run->attempt_started;
  rec.ended_at = ended;
  rec.duration_ms = result.duration.count();
  rec.exit_code = result.exit_code;
  rec.signal = result.signal;
  rec.output = std::move(result.output);
  if (result.stopped || run->stop_requested) {
    rec.outcome = "interrupted";
    rec.reason = "interrupted: " + (run->stop_reason.empty() ? std::string("stopped") : run->stop_reason);
  } else if (!result.spawn_error.empty()) {
    rec.outcome = "failure";
    rec.reason = result.spawn_error;
  } else if (result.timed_out) {
    rec.outcome = "timeout";
    rec.reason = "timeout after " + format_duration(cfg_.timeout.value_or(Duration(0)));
  } else if (result.success()) {
    rec.outcome = "success";
    rec.reason = "exit 0";
  } else if (result.exit_code) {
    rec.outcome = "failure";
    rec.reason = "exit " + std::to_string(*result.exit_code);
  } else {
    rec.outcome = "failure";
    rec.reason = "killed by " + signal_name(result.signal.value_or(0));
  }
  ctx_.store.put_run(rec);

  std::string status_part =
      rec.exit_code ? "exit=" + std::to_string(*rec.exit_code) : "signal=" + signal_name(rec.signal.value_or(0));
  std::string upper = rec.outcome == "success"       ? "SUCCESS"
                      : rec.outcome == "timeout"     ? "TIMEOUT"
                      : rec.outcome == "interrupted" ? "INTERRUPTED"
                                                     : "FAILURE";
  const bool retry =
      (rec.outcome == "failure" || rec.outcome == "timeout") && run->attempt <= cfg_.retries.max && !retired_;
  auto line =
      fmt::format("job={} run={} attempt={} event={} {} duration_ms={} output_bytes={} reason={}", cfg_.name, run->id,
                  run->attempt, upper, status_part, rec.duration_ms, result.output_bytes, log::quote(rec.reason));
  if (rec.outcome == "success") {
    logger()->info("{}", line);
  } else {
    logger()->warn("{}", line);
  }
  if (run->slow_fired && alert_on("slow")) {
    publish("slow", events::Status::resolved, config::Severity::warning,
            "job " + cfg_.name + " finished after " + format_duration(Duration(rec.duration_ms)), "", {});
  }
  if (retry) {
    const auto delay = retry_delay(cfg_.retries, run->attempt + 1);
    logger()->info("job={} run={} attempt={} event=RETRY next_attempt={} delay_ms={}", cfg_.name, run->id, run->attempt,
                   run->attempt + 1, delay.count());
    std::weak_ptr<Job> weak = weak_from_this();
    run->delay_timer = ctx_.clock.call_after(delay, [weak, run] {
      if (auto self = weak.lock()) {
        self->start_attempt(run);
      }
    });
    return;
  }
  finish_run(run, rec);
}

void Job::finish_run(const std::shared_ptr<Run>& run, const state::RunRecord& record) {
  const auto hold = std::move(run->keep_alive);  // `this` may otherwise go with the last run
  runs_.remove(run);
  if (record.outcome != "interrupted" && record.outcome != "skipped") {
    last_ = record;
    last_->output.clear();
  }
  if (record.outcome == "success") {
    // Both may be open (a failure, then a timeout): one success resolves each.
    for (const auto& event : firing_) {
      publish(event, events::Status::resolved, cfg_.severity,
              "job " + cfg_.name + " succeeded again after " + std::to_string(consecutive_failures_) + " failed run" +
                  (consecutive_failures_ == 1 ? "" : "s"),
              "", {{"run_id", std::to_string(record.run_id)}});
    }
    firing_.clear();
    consecutive_failures_ = 0;
  } else if (record.outcome == "failure" || record.outcome == "timeout") {
    ++consecutive_failures_;
    if (alert_on(record.outcome)) {
      std::string what =
          record.outcome == "timeout" ? "timed out (" + record.reason + ")" : "failed (" + record.reason + ")";
      publish(record.outcome, events::Status::firing, cfg_.severity,
              "job " + cfg_.name + " " + what + " after " + std::to_string(record.attempt) + " attempt" +
                  (record.attempt == 1 ? "" : "s"),
              output_tail(record.output),
              {{"run_id", std::to_string(record.run_id)},
               {"attempt", std::to_string(record.attempt)},
               {"exit_code", record.exit_code ? std::to_string(*record.exit_code) : ""},
               {"signal", record.signal ? signal_name(*record.signal) : ""}});
      firing_.insert(record.outcome);
    }
  }
  for (auto& waiter : run->waiters) {
    waiter(record);
  }
  if (run->on_stopped) {
    auto next = std::move(run->on_stopped);
    next();
  }
}

void Job::pause(std::optional<WallTime> until) {
  pause_.hold(ctx_.clock, until, [this] { resume(); });
  logger()->info("job={} event=PAUSE until={}", cfg_.name, until ? format_iso8601(*until) : "resume");
}

void Job::resume() {
  if (pause_.release()) {
    logger()->info("job={} event=RESUME", cfg_.name);
  }
}

void Job::shutdown(std::function<void()> done) {
  retire();
  if (runs_.empty()) {
    done();
    return;
  }
  auto pending = std::make_shared<std::size_t>(runs_.size());
  auto one_done = [pending, done = std::move(done)] {
    if (--*pending == 0) {
      done();
    }
  };
  for (auto run : std::list<std::shared_ptr<Run>>(runs_)) {
    run->stop_requested = true;
    run->stop_reason = "daemon stopping";
    run->on_stopped = one_done;
    if (run->child) {
      run->child->stop();
    } else {
      run->delay_timer.reset();
      state::RunRecord rec{cfg_.name,
                           "job",
                           run->id,
                           std::max(run->attempt, 1),
                           ctx_.clock.now(),
                           ctx_.clock.now(),
                           0,
                           "interrupted",
                           std::nullopt,
                           std::nullopt,
                           "interrupted: daemon stopping",
                           ""};
      ctx_.store.put_run(rec);
      finish_run(run, rec);
    }
  }
}

Status Job::status() const {
  Status s;
  s.running = !runs_.empty();
  s.running_count = static_cast<int>(runs_.size());
  s.paused = paused_now();
  s.paused_until = pause_.until();
  s.last = last_;
  s.next_run = next_run_;
  s.consecutive_failures = consecutive_failures_;
  return s;
}

std::optional<std::pair<std::int64_t, std::string>> Job::live_output() const {
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    if ((*it)->child) {
      return std::make_pair((*it)->id, (*it)->child->output_so_far());
    }
  }
  return std::nullopt;
}

void Job::publish(const std::string& event, events::Status status, config::Severity severity, std::string summary,
                  std::string detail, const std::map<std::string, std::string>& labels) {
  events::Event e;
  e.kind = events::Kind::job;
  e.name = cfg_.name;
  e.event = event;
  e.status = status;
  e.severity = severity;
  e.summary = std::move(summary);
  e.detail = std::move(detail);
  e.at = ctx_.clock.now();
  e.labels = labels;
  ctx_.bus.publish(e);
}

}  // namespace tend::jobs
