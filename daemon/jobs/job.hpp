#pragma once
// One configured job at run time: its schedule timer, its runs (attempts, retries, timeouts,
// overlap policy), its status, its history records and its events.

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "entries/entry.hpp"
#include "entries/kind.hpp"
#include "entries/services.hpp"
#include "events/event.hpp"
#include "jobs/config.hpp"
#include "metrics/exposition.hpp"
#include "process/launcher.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/spread.hpp"

namespace tend::jobs {

/// What jobs need from the daemon. Every member is a seam tests may replace.
struct Context {
  Clock& clock;
  process::Launcher& launcher;
  state::Store& store;
  events::Bus& bus;
  MonoTime started_mono;  // anchor of @every schedules
  std::function<std::int64_t()> next_run_id;
  std::function<Duration(Duration max)> random_delay;            // jitter
  entries::Builtins* builtins = nullptr;                         // `builtin:` jobs; unset: they fail, said so
  Spread* spread = nullptr;                                      // phases of @every schedules; unset: none
  const std::map<std::string, std::string>* base_env = nullptr;  // daemon.env for children
  entries::Cluster* cluster = nullptr;                           // cluster mode (run_on); null: none

  /// The jobs' part of the daemon's services.
  static Context from(entries::Services& s);
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

class Job : public entries::Entry, public std::enable_shared_from_this<Job> {
 public:
  Job(Context ctx, std::shared_ptr<const JobConfig> cfg);
  ~Job() override;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // entries::Entry
  [[nodiscard]] const config::EntrySettings& settings() const override { return *cfg_; }
  /// Restore the last result, plan the first tick. Ticks after `saved.last_tick` and before now
  /// are reported missed (and run once with catch_up); at boot, @reboot jobs run.
  int start(const entries::Saved& saved) override;
  void update(const config::EntryConfig& cfg) override { update(cfg.shared<JobConfig>()); }
  /// Stop scheduling (removed by reload); runs in progress finish on their own.
  void retire() override;
  /// Stop every run (SIGTERM the groups, SIGKILL after kill_grace); `done` once all have exited.
  void shutdown(std::function<void()> done) override;
  /// Re-plan the timer from the current wall time (the wall clock stepped).
  void replan() override;
  [[nodiscard]] Duration stop_grace() const override { return cfg_->kill_grace; }
  [[nodiscard]] boost::json::object status_entry() const override;
  /// Start a run now; its run id, or why the overlap policy refuses it.
  Expected<std::int64_t> run_now(entries::RunDone on_done) override;
  [[nodiscard]] std::optional<entries::LiveOutput> live_output() const override;
  /// tend_job_*: runs by outcome, durations, last success, last and next run, running, failures.
  void metrics(metrics::Collector& c) const override;

  /// Replace the configuration (reload found it changed) and re-plan.
  void update(std::shared_ptr<const JobConfig> cfg);
  [[nodiscard]] Status status() const;
  [[nodiscard]] const JobConfig& config() const { return *cfg_; }

 private:
  struct Run;

  void plan();
  void arm_cron(std::optional<schedule::Seconds> next);
  void skip_overdue(schedule::Seconds tick);
  void record_missed(schedule::Seconds first, schedule::Seconds last, int missed, std::string_view why,
                     std::string detail);
  void on_tick(WallTime tick);
  /// Start a run as the overlap policy says; its run id (0 when skipped, -1 when deferred by replace).
  std::int64_t trigger(Trigger why, entries::RunDone on_done, std::optional<WallTime> tick,
                       std::shared_ptr<entries::Cluster::Grant> grant = nullptr);
  std::int64_t start_run(Trigger why, entries::RunDone on_done, std::optional<WallTime> tick,
                         std::shared_ptr<entries::Cluster::Grant> grant);
  /// Cluster mode: claim the tick first and run it only when this host won (run_on: any).
  void claim_and_trigger(Trigger why, WallTime tick);
  /// Take lost hosts' ticks while this is a run_on: any job in cluster mode.
  void attach_cluster();
  /// A run of a tick this job had started on `node` was lost with its host (cluster mode).
  void lost_with_host(WallTime tick, const std::string& node);
  /// run_on: any in cluster mode: every tick is claimed before it runs.
  [[nodiscard]] bool claimed_ticks() const;
  /// run_on: host NAME names another node.
  [[nodiscard]] bool elsewhere() const;
  void start_attempt(const std::shared_ptr<Run>& run);
  /// Start the attempt's child, once its running record is durable (start_attempt writes it).
  void spawn_attempt(const std::shared_ptr<Run>& run, process::Spec spec);
  void run_builtin(const std::shared_ptr<Run>& run);
  void on_attempt_exit(const std::shared_ptr<Run>& run, process::Result result);
  void finish_run(const std::shared_ptr<Run>& run, const state::RunRecord& record);
  void interrupt(const std::shared_ptr<Run>& run, const std::string& why);
  void record_skip(const std::string& reason, WallTime at);
  void publish(const events::EventType& type, events::Status status, std::string summary, std::string detail,
               std::map<std::string, std::string> labels);
  [[nodiscard]] bool alert_on(const events::EventType& type) const;
  [[nodiscard]] state::RunRecord record(const Run& run) const;
  [[nodiscard]] MonoTime every_anchor(Duration interval) const;
  /// Count a finished (or skipped, missed) run for the metrics.
  void count(const state::RunRecord& record);

  Context ctx_;
  std::shared_ptr<const JobConfig> cfg_;  // shared with the loaded config: not a copy per entry
  std::list<std::shared_ptr<Run>> runs_;
  std::unique_ptr<TimerHandle> tick_timer_;
  std::optional<schedule::Seconds> last_tick_;  // last handled cron tick
  std::optional<WallTime> next_run_;
  std::int64_t every_count_ = 0;  // @every ticks handled
  bool retired_ = false;
  std::optional<state::RunRecord> last_;
  int consecutive_failures_ = 0;
  std::set<const events::EventType*> firing_;  // failure events currently firing, for resolve
  // Since the daemon started (Prometheus counters start at zero with the process).
  std::array<std::uint64_t, 6> outcomes_{};  // by kOutcomes
  metrics::Histogram durations_{metrics::duration_buckets()};
  std::optional<WallTime> last_success_;
  bool attached_ = false;  // to the cluster, for taken-over ticks
};

/// The kind "job" as registered (daemon/plugins/).
const entries::KindSpec& kind();

}  // namespace tend::jobs
