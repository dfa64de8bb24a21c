#include "jobs/job.hpp"

#include <csignal>
#include <cstring>

#include "entries/documents.hpp"
#include "jobs/retry.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace tend::jobs {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(sig);
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
  std::optional<WallTime> tick;  // the scheduled instant (TEND_TICK); none for manual runs
  WallTime attempt_started{};
  MonoTime attempt_started_mono{};
  std::shared_ptr<process::Child> child;
  std::unique_ptr<TimerHandle> delay_timer;  // jitter or retry wait
  std::unique_ptr<TimerHandle> slow_timer;
  bool slow_fired = false;
  bool stop_requested = false;
  std::string stop_reason;
  std::vector<entries::RunDone> waiters;
  std::function<void()> on_stopped;                // replace: start the next run once this one is gone
  std::shared_ptr<Job> keep_alive;                 // a job removed by reload lives until its runs end
  std::shared_ptr<entries::Cluster::Grant> grant;  // cluster mode: the tick this host won
};

Context Context::from(entries::Services& s) {
  return Context{s.clock,        s.launcher,  s.store,   s.bus,         s.started_mono, s.next_run_id,
                 s.random_delay, &s.builtins, &s.spread, &s.daemon.env, s.cluster};
}

Job::Job(Context ctx, std::shared_ptr<const JobConfig> cfg)
    : Entry(JobConfig::kKind, cfg->name, ctx.clock, log::get("jobs")), ctx_(std::move(ctx)), cfg_(std::move(cfg)) {}

Job::~Job() {
  if (attached_) {
    ctx_.cluster->detach(cfg_->name);
  }
  if (ctx_.spread != nullptr) {
    ctx_.spread->release(cfg_->name);
  }
}

int Job::start(const entries::Saved& saved) {
  if (saved.last && saved.last->kind == JobConfig::kKind) {
    last_ = saved.last;
    last_->output.clear();
    if (last_->outcome == "success") {
      last_success_ = last_->started_at;
    }
    if (last_->outcome == "failure" || last_->outcome == "timeout") {
      consecutive_failures_ = 1;  // at least; the exact streak is not stored
      firing_.insert(last_->outcome == "failure" ? &events::types::job_failure : &events::types::job_timeout);
    } else if (last_->outcome != "success") {
      // The newest record says nothing about the alerts (a run the previous instance's death
      // interrupted, ticks missed while it was down): a failure may still fire from before. The
      // next success resolves both; alerting ignores a resolve of what does not fire.
      firing_.insert(&events::types::job_failure);
      firing_.insert(&events::types::job_timeout);
    }
  }
  const auto& last_tick = saved.last_tick;
  const bool boot = saved.boot;
  int missed = 0;
  const auto now = ctx_.clock.now();
  const auto now_s = std::chrono::floor<std::chrono::seconds>(now);
  if (std::holds_alternative<schedule::CronExpr>(cfg_->schedule.kind)) {
    if (last_tick) {
      auto since = std::chrono::floor<std::chrono::seconds>(*last_tick);
      std::optional<schedule::Seconds> first;
      std::optional<schedule::Seconds> last_missed;
      for (auto t = cfg_->schedule.next_after(since); t && *t <= now_s && missed < 100000;
           t = cfg_->schedule.next_after(*t)) {
        if (!first) {
          first = *t;
        }
        last_missed = *t;
        ++missed;
      }
      if (missed > 0 && claimed_ticks()) {
        // The other hosts claimed (and ran) these ticks while this one was down; if the whole
        // cluster was down, catch-up below is claimed once per job across the cluster.
        last_tick_ = *last_missed;
        ctx_.store.put_schedule({cfg_->name, WallTime(*last_missed)});
        logger()->info("job={} event=CLUSTER_TICKS ticks_while_down={} first={} catch_up={}", cfg_->name, missed,
                       format_iso8601(WallTime(*first)), cfg_->catch_up);
      } else if (missed > 0) {
        record_missed(*first, *last_missed, missed, "while the daemon was down",
                      cfg_->catch_up ? "catch_up: running once now" : "catch_up is off: not run");
      } else {
        last_tick_ = since;
      }
    } else {
      // First start with this job: remember now as the baseline, so a later downtime is measurable.
      last_tick_ = now_s;
      ctx_.store.put_schedule({cfg_->name, WallTime(now_s)});
    }
  }
  attach_cluster();
  plan();
  if (missed > 0 && cfg_->catch_up && claimed_ticks() && last_tick_) {
    claim_and_trigger(Trigger::catch_up, WallTime(*last_tick_));
  } else if (missed > 0 && cfg_->catch_up && !elsewhere()) {
    trigger(Trigger::catch_up, nullptr, last_tick_ ? std::optional<WallTime>(WallTime(*last_tick_)) : std::nullopt);
  }
  if (boot && std::holds_alternative<schedule::Reboot>(cfg_->schedule.kind) && !elsewhere()) {
    trigger(Trigger::reboot, nullptr, std::nullopt);
  }
  return missed;
}

void Job::update(std::shared_ptr<const JobConfig> cfg) {
  const bool schedule_changed = !(cfg->schedule == cfg_->schedule);
  cfg_ = std::move(cfg);
  if (schedule_changed) {
    last_tick_ = std::chrono::floor<std::chrono::seconds>(ctx_.clock.now());
  }
  attach_cluster();
  plan();
}

bool Job::claimed_ticks() const { return ctx_.cluster != nullptr && cfg_->run_on.mode == RunOn::Mode::any; }

bool Job::elsewhere() const {
  return ctx_.cluster != nullptr && cfg_->run_on.mode == RunOn::Mode::host && cfg_->run_on.host != ctx_.cluster->node();
}

void Job::attach_cluster() {
  const bool want = claimed_ticks() && !retired_;
  if (want == attached_) {
    return;
  }
  attached_ = want;
  if (!want) {
    ctx_.cluster->detach(cfg_->name);
    return;
  }
  entries::Cluster::Listener listener;
  listener.given = lifetime_.guard([this](WallTime tick, std::shared_ptr<entries::Cluster::Grant> g) {
    if (retired_ || paused()) {
      g->finished(0, "skipped", retired_ ? "skipped: job removed" : "skipped: paused", 0);
      return;
    }
    logger()->warn("job={} event=TAKEN_OVER tick={} (its host was lost before starting it)", cfg_->name,
                   format_iso8601(tick));
    trigger(Trigger::schedule, nullptr, tick, std::move(g));
  });
  listener.interrupted =
      lifetime_.guard([this](WallTime tick, const std::string& node) { lost_with_host(tick, node); });
  ctx_.cluster->attach(cfg_->name, std::move(listener));
}

void Job::lost_with_host(WallTime tick, const std::string& node) {
  // Its outcome is unknown and it is not run again (it may have done its work): told as a
  // failure of the job, resolved by its next success like any other.
  ++consecutive_failures_;
  if (!alert_on(events::types::job_failure)) {
    return;
  }
  publish(events::types::job_failure, events::Status::firing,
          "job " + cfg_->name + ": the run of " + format_iso8601(tick) + " was interrupted: its host " + node +
              " was lost while it ran (host_lost)",
          "", {{"reason", "host_lost"}, {"node", node}, {"tick", format_iso8601(tick)}});
  firing_.insert(&events::types::job_failure);
}

void Job::claim_and_trigger(Trigger why, WallTime tick) {
  ctx_.cluster->claim(cfg_->name, tick, why == Trigger::catch_up,
                      lifetime_.guard([this, why, tick](std::shared_ptr<entries::Cluster::Grant> g) {
                        if (!g) {
                          return;  // another host runs it, or etcd cannot be asked: not here
                        }
                        if (retired_) {
                          g->finished(0, "skipped", "skipped: job removed", 0);
                          return;
                        }
                        trigger(why, nullptr, tick, std::move(g));
                      }));
}

void Job::retire() {
  retired_ = true;
  attach_cluster();
  tick_timer_.reset();
  next_run_.reset();
}

void Job::replan() {
  if (retired_) {
    return;
  }
  if (std::holds_alternative<schedule::CronExpr>(cfg_->schedule.kind) && last_tick_) {
    const auto now_s = std::chrono::floor<std::chrono::seconds>(ctx_.clock.now());
    auto skipped = cfg_->schedule.next_after(*last_tick_);
    if (skipped && *skipped < now_s) {
      // The wall clock jumped over a tick: run it once now, as Vixie cron does for short jumps,
      // rather than silently losing it.
      logger()->warn("job={} event=CLOCK_STEP skipped_tick={} running it now", cfg_->name,
                     format_iso8601(WallTime(*skipped)));
      last_tick_ = now_s;
      ctx_.store.put_schedule({cfg_->name, WallTime(now_s)});
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
  if (std::holds_alternative<schedule::CronExpr>(cfg_->schedule.kind)) {
    const auto now_s = std::chrono::floor<std::chrono::seconds>(ctx_.clock.now());
    // Plan from the later of now and the last handled tick: a timer that fires a hair early
    // (steady vs. wall clock) or a wall clock stepped back never runs a tick twice.
    auto from = last_tick_ ? std::max(*last_tick_, now_s - std::chrono::seconds(1)) : now_s;
    arm_cron(cfg_->schedule.next_after(from));
  } else if (const auto* every = std::get_if<schedule::Every>(&cfg_->schedule.kind)) {
    const auto interval = every->interval;
    const auto mono_now = ctx_.clock.mono_now();
    const auto anchor = every_anchor(interval);
    auto k = std::max<std::int64_t>(every_count_ + 1, (mono_now - anchor) / interval + 1);
    const auto at = anchor + k * interval;
    next_run_ = ctx_.clock.now() + duration_cast<milliseconds>(at - mono_now);
    tick_timer_ = ctx_.clock.call_at(at, [this, k] {
      every_count_ = k;
      on_tick(ctx_.clock.now());
    });
  }
}

MonoTime Job::every_anchor(Duration interval) const {
  // Anchored to the daemon's start and spread over one interval (a phase per name): a hundred
  // `@every 1m` jobs start at a hundred moments of the minute, the first no later than one
  // interval after start, and keep their moments across reloads.
  const auto phase = ctx_.spread != nullptr ? ctx_.spread->place(cfg_->name, interval) : Duration(0);
  return ctx_.started_mono - phase;
}

void Job::arm_cron(std::optional<schedule::Seconds> next) {
  if (!next) {
    logger()->warn("job={} schedule={} never fires again", cfg_->name, log::quote(cfg_->schedule.text));
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
    ctx_.store.put_schedule({cfg_->name, WallTime(tick)});
    skip_overdue(tick);
    on_tick(WallTime(tick));
  });
}

void Job::skip_overdue(schedule::Seconds tick) {
  // The timer fired more than a second late: the daemon was stopped (SIGSTOP, a debugger), the
  // machine suspended, or the loop stalled. This tick runs now; the ones after it that are already
  // past were stepped over, and are told as missed, once, like ticks of a downtime. (In a cluster
  // the other hosts claim them.)
  if (claimed_ticks()) {
    return;
  }
  const auto now_s = std::chrono::floor<std::chrono::seconds>(ctx_.clock.now());
  std::optional<schedule::Seconds> first;
  std::optional<schedule::Seconds> last;
  int missed = 0;
  for (auto t = cfg_->schedule.next_after(tick); t && *t < now_s && missed < 100000;
       t = cfg_->schedule.next_after(*t)) {
    if (!first) {
      first = *t;
    }
    last = *t;
    ++missed;
  }
  if (missed > 0) {
    record_missed(*first, *last, missed, "while the daemon was not running (stopped or suspended)",
                  "the tick of " + format_iso8601(WallTime(tick)) + " runs now, late; the rest are not run");
  }
}

void Job::record_missed(schedule::Seconds first, schedule::Seconds last, int missed, std::string_view why,
                        std::string detail) {
  last_tick_ = last;
  ctx_.store.put_schedule({cfg_->name, WallTime(last)});
  std::string summary = "job " + cfg_->name + " missed " + std::to_string(missed) + " tick" + (missed == 1 ? "" : "s") +
                        " " + std::string(why) + " (first " + format_iso8601(WallTime(first)) + ")";
  state::RunRecord rec;
  rec.entry = cfg_->name;
  rec.kind = JobConfig::kKind;
  rec.run_id = ctx_.next_run_id();
  rec.started_at = WallTime(first);
  rec.ended_at = WallTime(last);
  rec.outcome = "missed";
  rec.reason = std::to_string(missed) + " missed " + std::string(why);
  ctx_.store.put_run(rec);
  count(rec);
  logger()->warn("job={} run={} event=MISSED ticks={} first={} catch_up={}", cfg_->name, rec.run_id, missed,
                 format_iso8601(WallTime(first)), cfg_->catch_up);
  if (alert_on(events::types::job_missed)) {
    publish(events::types::job_missed, events::Status::firing, summary, std::move(detail),
            {{"ticks", std::to_string(missed)}, {"first", format_iso8601(WallTime(first))}});
  }
}

void Job::on_tick(WallTime tick) {
  plan();
  if (paused()) {
    logger()->info("job={} event=PAUSED tick={}", cfg_->name, format_iso8601(tick));
    return;
  }
  if (elsewhere()) {
    logger()->debug("job={} tick={} runs on {}", cfg_->name, format_iso8601(tick), cfg_->run_on.host);
    return;
  }
  if (claimed_ticks()) {
    claim_and_trigger(Trigger::schedule, tick);
    return;
  }
  trigger(Trigger::schedule, nullptr, tick);
}

bool Job::alert_on(const events::EventType& type) const {
  return std::find(cfg_->alert_on.begin(), cfg_->alert_on.end(), type.name) != cfg_->alert_on.end();
}

Expected<std::int64_t> Job::run_now(entries::RunDone on_done) {
  if (cfg_->concurrency == Concurrency::forbid && !runs_.empty()) {
    return Error{"job " + cfg_->name + " is already running (run " + std::to_string(runs_.back()->id) +
                 ") and its concurrency is forbid"};
  }
  return trigger(Trigger::manual, std::move(on_done), std::nullopt);
}

std::int64_t Job::trigger(Trigger why, entries::RunDone on_done, std::optional<WallTime> tick,
                          std::shared_ptr<entries::Cluster::Grant> grant) {
  if (!runs_.empty()) {
    switch (cfg_->concurrency) {
      case Concurrency::forbid: {
        const auto& running = runs_.back();
        const std::string reason = "still running (run " + std::to_string(running->id) + ")";
        record_skip(reason, ctx_.clock.now());
        if (grant) {
          grant->finished(0, "skipped", "skipped: " + reason, 0);
        }
        return 0;
      }
      case Concurrency::replace: {
        // Start the new run once every old one is gone; stop them all now.
        auto self = shared_from_this();
        auto pending = std::make_shared<std::size_t>(runs_.size());
        auto start_next = [self, why, on_done, pending, tick, grant]() mutable {
          if (--*pending == 0) {
            self->start_run(why, std::move(on_done), tick, std::move(grant));
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
            interrupt(run, "replaced by a new run");  // waiting for jitter or a retry: no process
          }
        }
        return -1;
      }
      case Concurrency::allow:
        break;
    }
  }
  return start_run(why, std::move(on_done), tick, std::move(grant));
}

void Job::interrupt(const std::shared_ptr<Run>& run, const std::string& why) {
  run->delay_timer.reset();
  const auto now = ctx_.clock.now();
  state::RunRecord rec = record(*run);
  rec.attempt = std::max(run->attempt, 1);
  rec.started_at = now;
  rec.ended_at = now;
  rec.outcome = "interrupted";
  rec.reason = "interrupted: " + why;
  ctx_.store.put_run(rec);
  finish_run(run, rec);
}

state::RunRecord Job::record(const Run& run) const {
  state::RunRecord rec;
  rec.entry = cfg_->name;
  rec.kind = JobConfig::kKind;
  rec.run_id = run.id;
  rec.attempt = run.attempt;
  rec.started_at = run.attempt_started;
  return rec;
}

void Job::record_skip(const std::string& reason, WallTime at) {
  state::RunRecord rec;
  rec.entry = cfg_->name;
  rec.kind = JobConfig::kKind;
  rec.run_id = ctx_.next_run_id();
  rec.started_at = at;
  rec.ended_at = at;
  rec.outcome = "skipped";
  rec.reason = "skipped: " + reason;
  ctx_.store.put_run(rec);
  count(rec);
  logger()->warn("job={} run={} event=SKIPPED reason={}", cfg_->name, rec.run_id, log::quote(reason));
  // forbid means skip and tell someone: an overlapping tick is a tick that did not run.
  if (alert_on(events::types::job_missed)) {
    publish(events::types::job_missed, events::Status::firing,
            "job " + cfg_->name + " skipped a tick: previous run " + reason, "",
            {{"run_id", std::to_string(rec.run_id)}});
  }
}

std::int64_t Job::start_run(Trigger why, entries::RunDone on_done, std::optional<WallTime> tick,
                            std::shared_ptr<entries::Cluster::Grant> grant) {
  auto run = std::make_shared<Run>();
  run->grant = std::move(grant);
  run->id = ctx_.next_run_id();
  run->trigger = why;
  run->tick = tick;
  run->keep_alive = shared_from_this();
  if (on_done) {
    run->waiters.push_back(std::move(on_done));
  }
  runs_.push_back(run);
  const auto jitter =
      (why == Trigger::schedule && cfg_->jitter.count() > 0) ? ctx_.random_delay(cfg_->jitter) : Duration(0);
  if (jitter.count() > 0) {
    run->delay_timer = ctx_.clock.call_after(jitter, lifetime_.guard([this, run] { start_attempt(run); }));
  } else {
    start_attempt(run);
  }
  return run->id;
}

void Job::run_builtin(const std::shared_ptr<Run>& run) {
  auto done = [this, run](bool ok, std::string reason, std::string output) {
    if (run->stop_requested) {
      return;  // stopped or replaced meanwhile: that already finished the run, once
    }
    const auto now = ctx_.clock.now();
    state::RunRecord rec = record(*run);
    rec.ended_at = now;
    rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - run->attempt_started).count();
    rec.outcome = ok ? "success" : "failure";
    rec.reason = std::move(reason);
    rec.output = valid_utf8(output);
    ctx_.store.put_run(rec);
    if (ok) {
      logger()->info("job={} run={} event=SUCCESS builtin={} reason={}", cfg_->name, run->id, cfg_->builtin,
                     log::quote(rec.reason));
    } else {
      logger()->warn("job={} run={} event=FAILURE builtin={} reason={}", cfg_->name, run->id, cfg_->builtin,
                     log::quote(rec.reason));
    }
    finish_run(run, rec);
  };
  if (ctx_.builtins == nullptr) {
    done(false, "builtin '" + cfg_->builtin + "' is not available", "");
    return;
  }
  ctx_.builtins->run(cfg_->builtin, cfg_->name, lifetime_.guard(std::move(done)));
}

void Job::start_attempt(const std::shared_ptr<Run>& run) {
  run->delay_timer.reset();
  ++run->attempt;
  run->attempt_started = ctx_.clock.now();
  run->attempt_started_mono = ctx_.clock.mono_now();
  run->slow_fired = false;

  if (!cfg_->builtin.empty()) {
    run_builtin(run);
    return;
  }

  process::Spec spec;
  if (!cfg_->shell.empty()) {
    spec.argv = {"/bin/sh", "-c", cfg_->shell};
  } else {
    spec.argv = cfg_->command;
  }
  // SPEC "Children's environment": a clean base, then daemon.env, env_inherit, the job's env.
  if (ctx_.base_env != nullptr) {
    spec.base_env = *ctx_.base_env;
  }
  spec.inherit = cfg_->env_inherit;
  spec.env = cfg_->env;
  spec.env["TEND_JOB"] = cfg_->name;
  spec.env["TEND_RUN_ID"] = std::to_string(run->id);
  spec.env["TEND_ATTEMPT"] = std::to_string(run->attempt);
  spec.env["TEND_TICK"] = run->tick ? format_iso8601(*run->tick) : "";
  if (ctx_.cluster != nullptr) {
    spec.env["TEND_NODE"] = ctx_.cluster->node();
  }
  spec.workdir = cfg_->workdir;
  spec.user = cfg_->user;
  spec.timeout = cfg_->timeout;
  spec.kill_grace = cfg_->kill_grace;

  state::RunRecord rec = record(*run);
  rec.outcome = "running";
  // The child starts once its run is on disk: a kill of tendd in between would otherwise leave a run
  // that happened and that history never heard of (the fault matrix's SIGKILL test caught one). A
  // write that fails or is held back (a full disk) answers at once: the job runs all the same.
  ctx_.store.put_run(rec, lifetime_.guard([this, run, spec = std::move(spec)](bool /*committed*/) mutable {
    spawn_attempt(run, std::move(spec));
  }));
}

void Job::spawn_attempt(const std::shared_ptr<Run>& run, process::Spec spec) {
  if (run->stop_requested) {
    return;  // stopped or replaced while its record was written: interrupt() has finished it
  }
  logger()->info("job={} run={} attempt={} event=START trigger={}", cfg_->name, run->id, run->attempt,
                 trigger_name(run->trigger));

  run->child = ctx_.launcher.spawn(
      spec, lifetime_.guard([this, run](process::Result result) { on_attempt_exit(run, std::move(result)); }));
  if (cfg_->warn_after) {
    run->slow_timer = ctx_.clock.call_after(*cfg_->warn_after, [this, run] {
      run->slow_fired = true;
      auto elapsed = duration_cast<milliseconds>(ctx_.clock.mono_now() - run->attempt_started_mono);
      logger()->warn("job={} run={} attempt={} event=SLOW running_for_ms={}", cfg_->name, run->id, run->attempt,
                     elapsed.count());
      if (alert_on(events::types::job_slow)) {
        publish(events::types::job_slow, events::Status::firing,
                "job " + cfg_->name + " still running after " + format_duration(*cfg_->warn_after), "",
                {{"run_id", std::to_string(run->id)}});
      }
    });
  }
}

void Job::on_attempt_exit(const std::shared_ptr<Run>& run, process::Result result) {
  run->child.reset();
  run->slow_timer.reset();
  const auto ended = ctx_.clock.now();
  state::RunRecord rec = record(*run);
  rec.ended_at = ended;
  rec.duration_ms = result.duration.count();
  rec.exit_code = result.exit_code;
  rec.signal = result.signal;
  // SPEC: text from outside is stored and shown as valid UTF-8.
  rec.output = valid_utf8(result.output);
  if (result.stopped || run->stop_requested) {
    rec.outcome = "interrupted";
    rec.reason = "interrupted: " + (run->stop_reason.empty() ? std::string("stopped") : run->stop_reason);
  } else if (!result.spawn_error.empty()) {
    rec.outcome = "failure";
    rec.reason = result.spawn_error;
  } else if (result.timed_out) {
    rec.outcome = "timeout";
    rec.reason = "timeout after " + format_duration(cfg_->timeout.value_or(Duration(0)));
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
      (rec.outcome == "failure" || rec.outcome == "timeout") && run->attempt <= cfg_->retries.max && !retired_;
  auto line =
      fmt::format("job={} run={} attempt={} event={} {} duration_ms={} output_bytes={} reason={}", cfg_->name, run->id,
                  run->attempt, upper, status_part, rec.duration_ms, result.output_bytes, log::quote(rec.reason));
  if (rec.outcome == "success") {
    logger()->info("{}", line);
  } else {
    logger()->warn("{}", line);
  }
  if (run->slow_fired && alert_on(events::types::job_slow)) {
    publish(events::types::job_slow, events::Status::resolved,
            "job " + cfg_->name + " finished after " + format_duration(Duration(rec.duration_ms)), "", {});
  }
  if (retry) {
    const auto delay = retry_delay(cfg_->retries, run->attempt + 1);
    logger()->info("job={} run={} attempt={} event=RETRY next_attempt={} delay_ms={}", cfg_->name, run->id,
                   run->attempt, run->attempt + 1, delay.count());
    run->delay_timer = ctx_.clock.call_after(delay, lifetime_.guard([this, run] { start_attempt(run); }));
    return;
  }
  finish_run(run, rec);
}

void Job::finish_run(const std::shared_ptr<Run>& run, const state::RunRecord& record) {
  const auto hold = std::move(run->keep_alive);  // `this` may otherwise go with the last run
  runs_.remove(run);
  count(record);
  if (auto grant = std::move(run->grant)) {
    grant->finished(record.run_id, record.outcome, record.reason, record.duration_ms);
  }
  if (record.outcome != "interrupted" && record.outcome != "skipped") {
    last_ = record;
    last_->output.clear();
  }
  if (record.outcome == "success") {
    // Both may be open (a failure, then a timeout): one success resolves each.
    for (const auto* type : firing_) {
      publish(*type, events::Status::resolved,
              "job " + cfg_->name + " succeeded again" +
                  (consecutive_failures_ > 0 ? " after " + plural(consecutive_failures_, "failed run") : ""),
              "", {{"run_id", std::to_string(record.run_id)}});
    }
    firing_.clear();
    consecutive_failures_ = 0;
  } else if (record.outcome == "failure" || record.outcome == "timeout") {
    ++consecutive_failures_;
    const auto& type = record.outcome == "timeout" ? events::types::job_timeout : events::types::job_failure;
    if (alert_on(type)) {
      std::string what =
          record.outcome == "timeout" ? "timed out (" + record.reason + ")" : "failed (" + record.reason + ")";
      publish(type, events::Status::firing,
              "job " + cfg_->name + " " + what + " after " + plural(record.attempt, "attempt"),
              output_tail(record.output),
              {{"run_id", std::to_string(record.run_id)},
               {"attempt", std::to_string(record.attempt)},
               {"exit_code", record.exit_code ? std::to_string(*record.exit_code) : ""},
               {"signal", record.signal ? signal_name(*record.signal) : ""}});
      firing_.insert(&type);
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
      interrupt(run, "daemon stopping");  // waiting for jitter, a retry or a builtin
    }
  }
}

Status Job::status() const {
  Status s;
  s.running = !runs_.empty();
  s.running_count = static_cast<int>(runs_.size());
  s.paused = paused();
  s.paused_until = paused_until();
  s.last = last_;
  s.next_run = next_run_;
  s.consecutive_failures = consecutive_failures_;
  return s;
}

std::optional<entries::LiveOutput> Job::live_output() const {
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    if ((*it)->child) {
      return entries::LiveOutput{(*it)->id, valid_utf8((*it)->child->output_so_far())};
    }
  }
  return std::nullopt;
}

namespace {

// tend_job_runs_total's outcome label: a fixed set, every value written from the start.
constexpr std::array<std::string_view, 6> kOutcomes = {"success", "failure", "timeout",
                                                       "skipped", "missed",  "interrupted"};

}  // namespace

void Job::count(const state::RunRecord& record) {
  for (std::size_t i = 0; i < kOutcomes.size(); ++i) {
    if (kOutcomes[i] == record.outcome) {
      ++outcomes_[i];
    }
  }
  if (record.outcome == "success" || record.outcome == "failure" || record.outcome == "timeout") {
    durations_.observe(static_cast<double>(record.duration_ms) / 1000.0);
  }
  if (record.outcome == "success") {
    last_success_ = record.started_at;
  }
}

void Job::metrics(metrics::Collector& c) const {
  using metrics::Type;
  const auto s = status();
  entry_series(c, s.running ? "running" : "idle");
  const std::string_view name = cfg_->name;
  auto& runs = c.family("tend_job_runs_total", "Finished runs by outcome, since tendd started.", Type::counter,
                        {"name", "outcome"});
  for (std::size_t i = 0; i < kOutcomes.size(); ++i) {
    runs.sample({name, kOutcomes[i]}, outcomes_[i]);
  }
  auto& durations = c.family("tend_job_run_duration_seconds", "Duration of finished runs (success, failure, timeout).",
                             Type::histogram, {"name"});
  // From the first finished run on, as a client library's labelled histogram appears with its first
  // observation: 16 empty series for every job that has not run yet (a daily job, most of the day
  // after a restart) were half of a scrape's bytes.
  if (durations_.count() > 0) {
    durations.histogram({name}, durations_);
  }
  if (last_success_) {
    c.family("tend_job_last_success_timestamp_seconds", "When the job's last successful run started.", Type::gauge,
             {"name"})
        .sample({name}, metrics::unix_seconds(*last_success_));
  }
  if (s.last) {
    c.family("tend_job_last_run_timestamp_seconds", "When the job's last finished run started.", Type::gauge, {"name"})
        .sample({name}, metrics::unix_seconds(s.last->started_at));
  }
  if (s.next_run) {
    c.family("tend_job_next_run_timestamp_seconds", "When the job runs next.", Type::gauge, {"name"})
        .sample({name}, metrics::unix_seconds(*s.next_run));
  }
  c.family("tend_job_running", "Runs of the job in progress.", Type::gauge, {"name"}).sample({name}, s.running_count);
  c.family("tend_job_consecutive_failures", "Failed runs in a row (0 after a success).", Type::gauge, {"name"})
      .sample({name}, s.consecutive_failures);
}

boost::json::object Job::status_entry() const {
  const auto s = status();
  auto o = status_head(s.running ? "running" : "idle");
  o["last_result"] = s.last ? boost::json::value(s.last->outcome) : boost::json::value(nullptr);
  o["last_reason"] = s.last ? boost::json::value(s.last->reason) : boost::json::value(nullptr);
  o["last_run"] = s.last ? entries::time_or_null(s.last->started_at) : boost::json::value(nullptr);
  o["last_duration_ms"] = s.last ? boost::json::value(s.last->duration_ms) : boost::json::value(nullptr);
  o["next_run"] = entries::time_or_null(s.next_run);
  o["consecutive_failures"] = s.consecutive_failures;
  o["running"] = s.running;
  o["runs_in_progress"] = s.running_count;
  o["schedule"] = cfg_->schedule.text;
  if (ctx_.cluster != nullptr) {
    o["run_on"] = to_string(cfg_->run_on);
  }
  return o;
}

void Job::publish(const events::EventType& type, events::Status status, std::string summary, std::string detail,
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
                                        return std::make_shared<Job>(Context::from(s), cfg.shared<JobConfig>());
                                      },
                                      {"run"}};
  return spec;
}

}  // namespace tend::jobs
