#pragma once
// The state database (SQLite, state_dir/tend.db): run history with output tails, schedule state,
// the daemon's liveness marker. All statements run on one worker thread that owns the connection;
// the loop thread only enqueues work and gets results posted back, so disk never stalls it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

/// A notification in the alert outbox: written before the first delivery attempt, deleted once
/// delivered, kept as `failed` when given up (so a restart never re-sends what was abandoned).
struct OutboxRecord {
  std::string id;        // stable per notification (the payload's `id`)
  std::int64_t seq = 0;  // creation order; delivery keeps it per notifier
  std::string notifier;
  WallTime created_at{};
  int attempts = 0;
  std::string state = "pending";  // pending | failed
  std::string last_error;
  std::string payload;  // the notification as JSON (alerts::Notification)
};

/// A mute: `target` is an entry name or "*" (everything).
struct SilenceRecord {
  std::string target;
  WallTime until{};
  std::string reason;
  WallTime created_at{};
  std::string created_by;  // "uid 0"
};

/// One line of the alert log: every firing/resolve the alerting engine saw, sent or not.
struct AlertLogRecord {
  std::int64_t id = 0;  // assigned by the database
  WallTime at{};
  std::string kind;
  std::string name;
  std::string event;
  std::string status;  // firing | resolved
  std::string severity;
  std::string summary;
  int occurrences = 1;
  std::string action;  // firing | repeat | escalation | resolved | grouped | silenced | held | inhibited | flapping ...
  std::string notifiers;  // comma-separated, empty when none
  std::string note;       // why it was held back (the inhibit rule), or the group it went out in
};

/// Per-entry figures over a period (the daily digest).
struct EntrySummary {
  std::string entry;
  std::string kind;
  int runs = 0;
  int failures = 0;  // failure|timeout|down|missed
  std::int64_t total_ms = 0;
  std::int64_t max_ms = 0;
  std::optional<WallTime> last_success;  // ever, not only in the period
  std::string last_outcome;
};

/// What the daemon finds at start-up.
struct Loaded {
  std::vector<ScheduleState> schedules;
  std::vector<RunRecord> last_results;  // newest record per entry (output omitted)
  std::int64_t max_run_id = 0;
  bool unclean_stop = false;           // the previous instance did not stop cleanly
  std::optional<WallTime> last_alive;  // its last liveness mark (or clean stop time)
  std::vector<RunRecord> interrupted;  // runs that were in progress when it died (now marked)
  std::vector<OutboxRecord> outbox;    // pending notifications, in seq order
  std::vector<SilenceRecord> silences;
  std::vector<std::pair<std::string, std::string>> active_alerts;  // key -> JSON
};

class Store {
 public:
  /// Open or create the database at `path` (directories must exist), migrate the schema, and
  /// start the worker. A damaged file is moved aside (`tend.db.corrupt-TIME`) and a fresh one
  /// created; one that cannot be used for now (a lock, a permission, the disk) is left as it is and
  /// a database in memory is used instead (see reset()). Throws std::runtime_error with the path
  /// only when there is no file and none can be created.
  Store(boost::asio::io_context& io, const std::string& path);
  /// Finish every queued write, then close.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Read the start-up state and mark this instance as running (synchronous: call before the
  /// loop runs). Runs left open by a dead instance are closed as `interrupted`.
  Loaded start(WallTime now);

  /// Insert or replace the record (entry, run_id, attempt). `done(committed)`, when given, runs on
  /// the loop once it is durable, or at once when the write failed or is held back (a failing disk).
  void put_run(RunRecord record, std::function<void(bool committed)> done = {});
  /// Remember the last handled tick of an entry's schedule.
  void put_schedule(ScheduleState s);
  /// Liveness mark, written every few seconds, so downtime after a crash can be measured.
  void mark_alive(WallTime now);
  /// Clean stop: the next start will not report an unclean stop.
  void mark_clean_stop(WallTime now);
  /// Keep at most keep_runs runs per entry (all attempts of a kept run) and none older than
  /// keep_days, except each entry's newest run; a limit <= 0 means none.
  void prune(int keep_runs, int keep_days, WallTime now);

  // --- alerting ---
  /// Write a notification to the outbox; `done(committed)` runs on the loop once it is durable
  /// (or the write failed: the caller still delivers, it only cannot survive a crash).
  void put_outbox(OutboxRecord r, std::function<void(bool committed)> done);
  /// Delivered: the row goes. Given up: it stays as `failed` with its error, for status and audit.
  void outbox_sent(std::string id);
  void outbox_failed(std::string id, int attempts, std::string error);
  void outbox_attempted(std::string id, int attempts, std::string error);
  /// An alert that is firing (JSON owned by the alerting engine), or its removal.
  void put_alert(std::string key, std::string json);
  void delete_alert(std::string key);
  void put_silence(SilenceRecord s);
  void delete_silence(std::string target);
  void log_alert(AlertLogRecord r);
  /// Alert log newest first; `name` empty = all entries.
  void alert_log(std::string name, int limit, std::function<void(std::vector<AlertLogRecord>)> done);
  /// Figures per entry for runs started at or after `since`.
  void summarize(WallTime since, std::function<void(std::vector<EntrySummary>)> done);

  /// Newest first, at most `limit` (negative: all); outputs omitted. Callback runs on the loop.
  void history(std::string entry, int limit, std::function<void(std::vector<RunRecord>)> done);
  /// For the status page's small charts, per entry of `entries`, newest first: a probe's results
  /// since `since` in hourly records (outcome down if any result of the hour was down, else
  /// restart_failed, restarted or up; duration_ms the hour's mean latency); anything else's last
  /// `runs` runs. Outputs omitted. Callback runs on the loop.
  void recent(std::vector<std::string> entries, int runs, WallTime since,
              std::function<void(std::map<std::string, std::vector<RunRecord>>)> done);
  /// The last attempt of run `run_id` (or of the newest run when unset), with its output.
  void run_output(std::string entry, std::optional<std::int64_t> run_id,
                  std::function<void(std::optional<RunRecord>)> done);
  /// Run `done` on the loop once everything queued before it is committed (or has failed, see
  /// write_errors). Committed = survives a crash of the process; a power loss may lose the last.
  void flush(std::function<void()> done);

  /// Number of writes that failed (logged, rate-limited); shown in status.
  [[nodiscard]] std::uint64_t write_errors() const;

  /// The database found at start could not be used (SPEC "Bad state is survived").
  struct Reset {
    std::string error;
    std::string moved_to;    // where the damaged file went; "" when it was left as it is
    bool in_memory = false;  // running on a database in memory: nothing is kept past a restart
  };
  /// Set when the database found at start could not be used: damaged (moved aside for a fresh
  /// one), or unusable for now or immovable (left as it is; tendd runs on one in memory).
  [[nodiscard]] std::optional<Reset> reset() const;
  /// Told on the loop when writes start failing (a full disk: they are held back and retried,
  /// in order) and when they work again.
  void on_health(std::function<void(bool healthy, std::string error)> listener);

 private:
  /// Queue `write` (run on the worker, in a transaction); `done`, when given, as put_outbox says.
  void submit_durable(const char* op, std::function<void(bool committed)> done, std::function<void()> write);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tend::state
