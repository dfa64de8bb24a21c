#pragma once
// The state database (SQLite, state_dir/tend.db): run history with output tails, schedule state,
// the daemon's liveness marker. All statements run on one worker thread that owns the connection;
// the loop thread only enqueues work and gets results posted back, so disk never stalls it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/time.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::state {

/// One attempt of a run (jobs), one result (probes), one report (checks).
struct RunRecord {
  std::string entry;  // entry name
  std::string kind;   // job | probe | check
  std::int64_t run_id = 0;
  int attempt = 1;
  WallTime started_at{};
  std::optional<WallTime> ended_at;  // unset while running
  std::int64_t duration_ms = 0;
  std::string outcome;  // running|success|failure|timeout|skipped|missed|interrupted (probes: up|down)
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string reason;  // one line: "exit 1", "timeout after 5m", "skipped: still running", ...
  std::string output;  // captured tail (<= 64 KiB)
};

/// Per-entry scheduling memory that must survive restarts.
struct ScheduleState {
  std::string entry;
  std::optional<WallTime> last_tick;  // the last scheduled fire time that was handled
};

/// What the daemon finds at start-up.
struct Loaded {
  std::vector<ScheduleState> schedules;
  std::vector<RunRecord> last_results;  // newest record per entry (output omitted)
  std::int64_t max_run_id = 0;
  bool unclean_stop = false;           // the previous instance did not stop cleanly
  std::optional<WallTime> last_alive;  // its last liveness mark (or clean stop time)
  std::vector<RunRecord> interrupted;  // runs that were in progress when it died (now marked)
};

class Store {
 public:
  /// Open or create the database at `path` (directories must exist), migrate the schema, and
  /// start the worker. Throws std::runtime_error with the path and SQLite's message on failure.
  Store(boost::asio::io_context& io, const std::string& path);
  /// Finish every queued write, then close.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Read the start-up state and mark this instance as running (synchronous: call before the
  /// loop runs). Runs left open by a dead instance are closed as `interrupted`.
  Loaded start(WallTime now);

  /// Insert or replace the record (entry, run_id, attempt).
  void put_run(RunRecord record);
  /// Remember the last handled tick of an entry's schedule.
  void put_schedule(ScheduleState s);
  /// Liveness mark, written every few seconds, so downtime after a crash can be measured.
  void mark_alive(WallTime now);
  /// Clean stop: the next start will not report an unclean stop.
  void mark_clean_stop(WallTime now);
  /// Keep at most keep_runs runs per entry (all attempts of a kept run) and none older than
  /// keep_days, except each entry's newest run; a limit <= 0 means none.
  void prune(int keep_runs, int keep_days, WallTime now);

  /// Newest first, at most `limit` (negative: all); outputs omitted. Callback runs on the loop.
  void history(std::string entry, int limit, std::function<void(std::vector<RunRecord>)> done);
  /// The last attempt of run `run_id` (or of the newest run when unset), with its output.
  void run_output(std::string entry, std::optional<std::int64_t> run_id,
                  std::function<void(std::optional<RunRecord>)> done);
  /// Run `done` on the loop once everything queued before it is committed (or has failed, see
  /// write_errors). Committed = survives a crash of the process; a power loss may lose the last.
  void flush(std::function<void()> done);

  /// Number of writes that failed (logged, rate-limited); shown in status.
  [[nodiscard]] std::uint64_t write_errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tend::state
