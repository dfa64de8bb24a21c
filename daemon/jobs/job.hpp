#pragma once
// One configured job at run time: its schedule timer, its runs (attempts, retries, timeouts,
// overlap policy), its status, its history records and its events.

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "config/model.hpp"
#include "events/event.hpp"
#include "process/launcher.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/pause.hpp"

namespace tend::jobs {

/// What jobs need from the daemon. Every member is a seam tests may replace.
/// A builtin job's result: ok, one-line reason, output (the report it produced).
using BuiltinDone = std::function<void(bool ok, std::string reason, std::string output)>;

struct Context {
  Clock& clock;
  process::Launcher& launcher;
  state::Store& store;
  events::Bus& bus;
  MonoTime started_mono;  // anchor of @every schedules
  std::function<std::int64_t()> next_run_id;
  std::function<Duration(Duration max)> random_delay;  // jitter
  /// Runs `builtin: NAME` jobs (the digest, provided by the alerting module); unset: skipped.
  std::function<void(const std::string& job, const std::string& builtin, BuiltinDone done)> run_builtin = {};
};

/// Why a run started (shown in its log line).
enum class Trigger { schedule, manual, catch_up, reboot };

struct Status {
  bool running = false;
  int running_count = 0;
  bool paused = false;
  std::optional<WallTime> paused_until;
  std::optional<state::RunRecord> last;  // last finished attempt
  std::optional<WallTime> next_run;
  int consecutive_failures = 0;
};

/// Called with the final record of a run (manual runs with --wait).
using RunDone = std::function<void(const state::RunRecord&)>;

class Job : public std::enable_shared_from_this<Job> {
 public:
  /// `last` is the newest history record of this job, if any (restores status after restart).
  Job(Context& ctx, config::JobConfig cfg, std::optional<state::RunRecord> last);
  ~Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  /// Plan the first tick. `last_tick` is the saved schedule state: ticks after it and before now
  /// are reported missed (and run once with catch_up). `boot` runs @reboot jobs.
  /// Returns the number of missed ticks.
  int start(std::optional<WallTime> last_tick, bool boot);
  /// Replace the configuration (reload found it changed) and re-plan.
  void update(config::JobConfig cfg);
  /// Stop scheduling (removed by reload); runs in progress finish on their own.
  void retire();
  /// Re-plan the timer from the current wall time (the wall clock stepped).
  void replan();
  /// Start a run now; its run id, or why the overlap policy refuses it.
  Expected<std::int64_t> run_now(RunDone on_done);
  /// Hold scheduling until `until` (or resume()).
  void pause(std::optional<WallTime> until);
  void resume();
  /// Stop every run (SIGTERM the groups, SIGKILL after kill_grace); `done` once all have exited.
  void shutdown(std::function<void()> done);

  [[nodiscard]] Status status() const;
  [[nodiscard]] const config::JobConfig& config() const { return cfg_; }
  /// Output of the newest running attempt, if one is running.
  [[nodiscard]] std::optional<std::pair<std::int64_t, std::string>> live_output() const;

 private:
  struct Run;

  void plan();
  void arm_cron(std::optional<schedule::Seconds> next);
  void on_tick(WallTime tick);
  /// Start a run as the overlap policy says; its run id (0 when skipped, -1 when deferred by replace).
  std::int64_t trigger(Trigger why, RunDone on_done);
  std::int64_t start_run(Trigger why, RunDone on_done);
  void start_attempt(const std::shared_ptr<Run>& run);
  void run_builtin(const std::shared_ptr<Run>& run);
  void on_attempt_exit(const std::shared_ptr<Run>& run, process::Result result);
  void finish_run(const std::shared_ptr<Run>& run, const state::RunRecord& record);
  void record_skip(const std::string& reason, WallTime at);
  void publish(const std::string& event, events::Status status, config::Severity severity, std::string summary,
               std::string detail, const std::map<std::string, std::string>& labels);
  [[nodiscard]] bool paused_now() const;
  [[nodiscard]] bool alert_on(const std::string& event) const;

  Context& ctx_;
  config::JobConfig cfg_;
  std::list<std::shared_ptr<Run>> runs_;
  std::unique_ptr<TimerHandle> tick_timer_;
  std::optional<schedule::Seconds> last_tick_;  // last handled cron tick
  std::optional<WallTime> next_run_;
  std::int64_t every_count_ = 0;  // @every ticks handled
  bool retired_ = false;
  Pause pause_;
  std::optional<state::RunRecord> last_;
  int consecutive_failures_ = 0;
  std::set<std::string> firing_;  // failure events currently firing ("failure", "timeout"), for resolve
};

}  // namespace tend::jobs
