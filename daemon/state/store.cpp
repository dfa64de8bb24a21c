#include "state/store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <iterator>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "state/sqlite.hpp"

namespace tend::state {

namespace {

// Schema migrations, append only: entry i takes PRAGMA user_version from i to i+1, inside the
// same transaction as the version bump. Never edit an entry that has shipped; add a new one
// (the alert outbox, silences, probe results, ...) at the end.
//
// `output` is the last column of runs: reading any other column then never touches the overflow
// pages a 64 KiB tail lives on, which keeps history, start-up and prune scans cheap. The primary
// key index (entry, run_id, attempt) also serves "newest first per entry": SQLite walks it
// backwards for ORDER BY run_id DESC, attempt DESC, so no second index is needed for that.
// The CHECKs reject records no caller should produce, rather than storing unreadable history.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE runs (
  entry         TEXT    NOT NULL CHECK (entry <> ''),
  kind          TEXT    NOT NULL,
  run_id        INTEGER NOT NULL,
  attempt       INTEGER NOT NULL CHECK (attempt >= 1),
  started_at_ms INTEGER NOT NULL,
  ended_at_ms   INTEGER,
  duration_ms   INTEGER NOT NULL,
  outcome       TEXT    NOT NULL,
  exit_code     INTEGER,
  signal        INTEGER,
  reason        TEXT    NOT NULL,
  output        TEXT    NOT NULL,
  PRIMARY KEY (entry, run_id, attempt)
);
CREATE INDEX runs_started ON runs (started_at_ms);
CREATE INDEX runs_open ON runs (entry) WHERE ended_at_ms IS NULL;
CREATE TABLE schedules (
  entry        TEXT PRIMARY KEY,
  last_tick_ms INTEGER
);
CREATE TABLE daemon (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  running    INTEGER NOT NULL,
  started_ms INTEGER,
  alive_ms   INTEGER,
  stopped_ms INTEGER
);
)sql",
    // 2: alerting. The outbox holds every notification from before its first attempt until it is
    // delivered (then deleted) or given up (kept as failed); `seq` orders deliveries per notifier.
    R"sql(
CREATE TABLE outbox (
  id            TEXT    PRIMARY KEY,
  seq           INTEGER NOT NULL,
  notifier      TEXT    NOT NULL,
  created_at_ms INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  state         TEXT    NOT NULL CHECK (state IN ('pending', 'failed')),
  last_error    TEXT    NOT NULL DEFAULT '',
  payload       TEXT    NOT NULL
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending';
CREATE TABLE alerts (
  key  TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE silences (
  target        TEXT    PRIMARY KEY,
  until_ms      INTEGER NOT NULL,
  reason        TEXT    NOT NULL,
  created_at_ms INTEGER NOT NULL,
  created_by    TEXT    NOT NULL
);
CREATE TABLE alert_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms       INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  name        TEXT    NOT NULL,
  event       TEXT    NOT NULL,
  status      TEXT    NOT NULL,
  severity    TEXT    NOT NULL,
  summary     TEXT    NOT NULL,
  occurrences INTEGER NOT NULL,
  action      TEXT    NOT NULL,
  notifiers   TEXT    NOT NULL
);
CREATE INDEX alert_log_name ON alert_log (name, id);
CREATE INDEX alert_log_at ON alert_log (at_ms);
)sql",
    // 3: why an alert was held back (the inhibit rule, flapping), or into which group it went.
    R"sql(
ALTER TABLE alert_log ADD COLUMN note TEXT NOT NULL DEFAULT '';
)sql",
    // 4: one entry's runs by time (the status page's 24 h charts), not the whole entry's history.
    R"sql(
CREATE INDEX runs_entry_started ON runs (entry, started_at_ms);
)sql",
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Writes that arrive while a transaction is being committed are committed together: one
// transaction per wake-up instead of one per record is what makes thousands of records a second
// cheap. The cap bounds the size of a single transaction (64 KiB outputs add up) and the delay
// before the first callback of a burst.
constexpr std::size_t kMaxBatch = 256;

constexpr auto kBusyTimeout = "PRAGMA busy_timeout = 5000";

// While the disk fails (full, read-only, I/O errors), writes wait in order and are tried again
// this often; at most this many wait (about what an hour of 100 probes and jobs writes), the
// oldest lost and counted beyond that.
constexpr auto kRetryWrites = std::chrono::seconds(2);
// Writes are told working again only once none has failed for this long: on a nearly full disk
// one small commit fits (it reuses WAL pages) and the next does not, and /healthz,
// tend_state_writable and the state_write_failed alert must not flap with each.
constexpr auto kRecoverAfter = std::chrono::seconds(10);
constexpr std::size_t kMaxHeld = 50'000;

// Column lists (never values) are the only SQL built by concatenation.
const std::string kRunColumns =
    "entry, kind, run_id, attempt, started_at_ms, ended_at_ms, duration_ms, outcome, exit_code, signal, reason";

RunRecord read_run(const sqlite::Query& q, bool with_output) {
  RunRecord r;
  r.entry = q.text(0);
  r.kind = q.text(1);
  r.run_id = q.int64(2);
  r.attempt = q.int32(3);
  r.started_at = from_unix_ms(q.int64(4));
  if (auto ended = q.opt_int64(5)) {
    r.ended_at = from_unix_ms(*ended);
  }
  r.duration_ms = q.int64(6);
  r.outcome = q.text(7);
  r.exit_code = q.opt_int32(8);
  r.signal = q.opt_int32(9);
  r.reason = q.text(10);
  if (with_output) {
    r.output = q.text(11);
  }
  return r;
}

std::optional<std::int64_t> to_ms(const std::optional<WallTime>& t) {
  if (!t) {
    return std::nullopt;
  }
  return to_unix_ms(*t);
}

void migrate(sqlite::Db& db) {
  // IMMEDIATE takes the write lock before reading the version, so two processes opening a fresh
  // database cannot both apply migration 0.
  db.exec("BEGIN IMMEDIATE");
  try {
    int version = 0;
    {
      auto q = db.once("PRAGMA user_version");
      if (q.step()) {
        version = q.int32(0);
      }
    }
    if (version > kSchemaVersion) {
      throw std::runtime_error("schema version " + std::to_string(version) + " is newer than this tend supports (" +
                               std::to_string(kSchemaVersion) + ")");
    }
    for (int i = version; i < kSchemaVersion; ++i) {
      db.exec(kMigrations[i]);
    }
    if (version < kSchemaVersion) {
      // PRAGMA takes no bound parameters; the number is our own constant, not input.
      db.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    }
    db.exec("COMMIT");
  } catch (...) {
    if (!db.autocommit()) {
      db.exec("ROLLBACK");
    }
    throw;
  }
}

std::unique_ptr<sqlite::Db> open_database(const std::string& path, spdlog::logger& log) {
  try {
    std::error_code exists_ec;
    const bool existed = std::filesystem::exists(path, exists_ec);
    auto db = std::make_unique<sqlite::Db>(path);
    // busy_timeout first, so the switch to WAL waits for a lock held by another process (sqlite3
    // CLI, a backup) instead of failing.
    db->exec(kBusyTimeout);
    std::string mode;
    {
      auto q = db->query("PRAGMA journal_mode = WAL");
      if (q.step()) {
        mode = q.text(0);
      }
    }
    if (mode != "wal" && path != ":memory:") {
      log.warn("database path={} journal_mode={} (WAL unavailable; writes may block readers)", path, mode);
    }
    // WAL + NORMAL: a commit is in the WAL (the OS's page cache) when it returns, so a crash or
    // SIGKILL of the daemon loses nothing committed; only a power loss or kernel crash may lose
    // the last transactions before a checkpoint's fsync. FULL would fsync on every commit, for a
    // guarantee run history does not need.
    db->exec("PRAGMA synchronous = NORMAL");
    db->exec("PRAGMA foreign_keys = ON");
    // SQLite's page cache grows to 2 MB by default, and history fills it within minutes: the
    // daemon's own memory grew 3.4 -> 5.3 MB at 100 runs a second. Writes touch the tail of the
    // runs table, its index and the outbox, and every other page is in the kernel's page cache
    // (a read from there is a pread, not the disk): 64 KiB holds that working set. 100 runs a
    // second for 5 minutes: RssAnon 1.68 MB with 256 KiB, 1.52 with 64; CPU per run 0.249 and
    // 0.257 ms (issue 14, `tendbench.py --runs 1 history`).
    db->exec("PRAGMA cache_size = -64");  // KiB
    if (existed) {
      // A damaged file may open fine and fail much later, one page at a time: look at every page
      // once, at start (linear in the file, well under a second for a year of history).
      auto q = db->query("PRAGMA quick_check");
      const std::string verdict = q.step() ? q.text(0) : std::string("no answer");
      if (verdict != "ok") {
        throw std::runtime_error("quick_check: " + verdict);
      }
    }
    migrate(*db);
    return db;
  } catch (const sqlite::Error& e) {
    throw sqlite::Error(e.code(), "cannot open state database " + path + ": " + e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open state database " + path + ": " + e.what());
  }
}

/// Whether a failure to open or read a database that exists says nothing about the file itself:
/// a permission, a lock another process holds, the disk, memory. Such a file is never moved aside
/// or removed (it may be whole); anything else (not a database, a damaged page, a schema this tend
/// cannot read) is damage.
bool transient(const std::exception& e) {
  const auto* err = dynamic_cast<const sqlite::Error*>(&e);
  if (err == nullptr) {
    return false;
  }
  switch (err->code() & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_FULL:
    case SQLITE_AUTH:
      return true;
    default:
      return false;
  }
}

/// Move `path` (and its -wal, -shm) aside as `path.corrupt-TIME`; the new name, or "" when it
/// cannot be moved.
std::string move_aside(const std::string& path) {
  const auto stamp =
      format_iso8601(std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
  std::string aside = path + ".corrupt-" + stamp;
  std::error_code ec;
  std::filesystem::rename(path, aside, ec);
  if (ec) {
    return "";
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    std::error_code ignored;
    std::filesystem::rename(path + suffix, aside + suffix, ignored);
  }
  return aside;
}

}  // namespace

struct Store::Impl {
  // Runs on the worker after the transaction holding its task ended; `committed` is false when
  // that transaction failed to commit.
  using After = std::function<void(bool committed)>;

  struct Task {
    const char* op;  // for error logs
    bool write;      // counted in write_errors when it fails
    std::function<After()> run;
    /// For a write held back while the disk fails (see hold()): what its caller must hear now.
    std::function<void()> on_hold = {};
  };

  Impl(boost::asio::io_context& io, const std::string& path)
      : io_(io), path_(path), log_(spdlog::get("state") ? spdlog::get("state") : spdlog::default_logger()) {
    try {
      db_ = open_database(path, *log_);
    } catch (const std::exception& e) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        throw;  // there is nothing to survive: a new database cannot be made there (no directory)
      }
      survive(e.what(), transient(e));
    }
    // Started last: everything the worker touches is constructed, and the thread start hands the
    // connection over to it.
    worker_ = std::thread([this] { work(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    worker_.join();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void submit(Task task) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  // An After that runs `fn` on the loop. It captures the io_context, never the Impl, so a
  // callback still queued in the loop when the Store is destroyed is harmless.
  template <class Fn>
  After to_loop(Fn fn) {
    return [io = &io_, fn = std::move(fn)](bool) mutable { boost::asio::post(*io, std::move(fn)); };
  }

  // --- worker thread only below ---

  void work() {
    std::vector<Task> batch;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (held_.empty() && healthy_) {
          cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        } else {
          // Writes are held back (the disk failed): try them again every few seconds; or none is
          // held but the failure is recent: see whether it has been quiet long enough.
          cv_.wait_for(lock, kRetryWrites, [this] { return !queue_.empty() || stopping_; });
        }
        if (queue_.empty() && (stopping_ || held_.empty())) {
          if (stopping_) {
            return;  // everything queued before has been written (or is held: its loss is counted)
          }
          if (!healthy_) {
            lock.unlock();
            set_healthy(true, "");  // only once kRecoverAfter has passed without a failure
          }
          continue;
        }
        const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), kMaxBatch));
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
        queue_.erase(queue_.begin(), queue_.begin() + n);
      }
      if (!held_.empty()) {
        retry_held();
      }
      if (!held_.empty()) {
        // Still failing: writes wait behind the held ones, in order (a stale record must never
        // overwrite a newer one); reads go ahead.
        std::vector<Task> reads;
        for (auto& task : batch) {
          if (task.write) {
            hold(std::move(task));
          } else {
            reads.push_back(std::move(task));
          }
        }
        batch = std::move(reads);
      }
      run_batch(batch);
      batch.clear();
    }
  }

  // A write that cannot be done now waits, in order, for the disk to come back. Its caller hears
  // at once that it is not durable (an outbox row is delivered anyway); past kMaxHeld the oldest
  // are dropped and counted as lost.
  void hold(Task task) {
    if (task.on_hold) {
      task.on_hold();
      task.on_hold = nullptr;
    }
    held_.push_back(std::move(task));
    if (held_.size() > kMaxHeld) {
      held_.pop_front();
      report("hold", "too many writes held back; the oldest is lost", 1);
    }
  }

  void retry_held() {
    std::vector<Task> batch;
    while (!held_.empty()) {
      const auto n = std::min(held_.size(), kMaxBatch);
      batch.assign(std::make_move_iterator(held_.begin()),
                   std::make_move_iterator(held_.begin() + static_cast<std::ptrdiff_t>(n)));
      held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(n));
      // Their callbacks ran when they were first held or first failed: not again.
      if (!run_batch(batch, /*callbacks=*/false)) {
        return;  // failed again: run_batch held them back in front, in order
      }
      batch.clear();
    }
  }

  /// Run `batch` in one transaction; true when every write of it is committed. Writes lost to
  /// a failure of the disk (not of the write itself) are held back to be tried again.
  bool run_batch(std::vector<Task>& batch, bool callbacks = true) {
    std::vector<After> afters;
    afters.reserve(batch.size());
    std::vector<std::size_t> in_txn;  // writes of the current transaction, by index
    std::vector<std::size_t> lost;    // writes the disk lost (to hold back)
    bool in_transaction = begin();
    std::uint64_t writes_in_transaction = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& task = batch[i];
      try {
        if (auto after = task.run(); after && callbacks) {
          afters.push_back(std::move(after));
        }
        if (task.write && in_transaction) {
          ++writes_in_transaction;
          in_txn.push_back(i);
        }
      } catch (const sqlite::Error& e) {
        report(task.op, e.what(), task.write ? 1 : 0);
        if (task.write && disk_failure(e.code())) {
          lost.push_back(i);
        }
      } catch (const std::exception& e) {
        report(task.op, e.what(), task.write ? 1 : 0);
      } catch (...) {
        report(task.op, "unknown exception", task.write ? 1 : 0);
      }
      if (in_transaction && db_->autocommit()) {
        // SQLITE_FULL, IOERR, NOMEM and the like roll back the whole transaction, not just the
        // statement: the batch's earlier writes are gone as well; they are held back.
        report("transaction", "rolled back by an error; earlier writes of the batch held back", writes_in_transaction);
        lost.insert(lost.end(), in_txn.begin(), in_txn.end());
        in_txn.clear();
        writes_in_transaction = 0;
        in_transaction = begin();
      }
    }
    bool committed = true;
    if (in_transaction) {
      try {
        db_->exec("COMMIT");
      } catch (const std::exception& e) {
        committed = false;
        report("commit", e.what(), writes_in_transaction);
        lost.insert(lost.end(), in_txn.begin(), in_txn.end());
        if (!db_->autocommit()) {
          try {
            db_->exec("ROLLBACK");
          } catch (const std::exception& e2) {
            report("rollback", e2.what(), 0);
          }
        }
      }
    }
    std::sort(lost.begin(), lost.end());
    lost.erase(std::unique(lost.begin(), lost.end()), lost.end());
    if (!lost.empty()) {
      // In front of whatever is held already, in their order: they are older.
      std::deque<Task> front;
      for (auto i : lost) {
        front.push_back(std::move(batch[i]));
      }
      front.insert(front.end(), std::make_move_iterator(held_.begin()), std::make_move_iterator(held_.end()));
      held_ = std::move(front);
      while (held_.size() > kMaxHeld) {
        held_.pop_back();
        report("hold", "too many writes held back; one is lost", 1);
      }
    }
    set_healthy(lost.empty() && committed, lost.empty() ? "" : last_error_);
    // Callbacks go out even when the commit failed: a caller waiting on flush or a read must not
    // hang; the failure is in the log and in write_errors.
    for (auto& after : afters) {
      try {
        after(committed && lost.empty());
      } catch (const std::exception& e) {
        report("callback", e.what(), 0);
      }
    }
    return committed && lost.empty();
  }

  /// Errors of the disk rather than of a write: worth trying that write again later.
  static bool disk_failure(int code) {
    const int primary = code & 0xff;
    return primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
           primary == SQLITE_NOMEM || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY;
  }

  // Writes working or not, told to the loop once per change (state_write_failed fires, resolves).
  void set_healthy(bool healthy, const std::string& error) {
    const auto now = std::chrono::steady_clock::now();
    if (!healthy) {
      last_failure_ = now;
    } else if (!healthy_ && now - last_failure_ < kRecoverAfter) {
      return;  // not yet
    }
    if (healthy == healthy_) {
      return;
    }
    healthy_ = healthy;
    log_->warn("event={} held_writes={}", healthy ? "WRITES_RESUMED" : "WRITES_FAILING", held_.size());
    std::function<void(bool, std::string)> listener;
    {
      std::lock_guard lock(mutex_);
      listener = health_listener_;
    }
    if (listener) {
      boost::asio::post(io_, [listener, healthy, error] { listener(healthy, error); });
    }
  }

  bool begin() {
    try {
      db_->exec("BEGIN");
      return true;
    } catch (const std::exception& e) {
      report("begin", e.what(), 0);  // the batch still runs, one autocommit statement at a time
      return false;
    }
  }

  // Rate-limited like spdlog's err_handler_: a full disk fails every write, and one line a second
  // with a count says as much as thousands.
  void report(const char* op, const char* what, std::uint64_t failed_writes) {
    write_errors_.fetch_add(failed_writes, std::memory_order_relaxed);
    last_error_ = std::string(op) + ": " + what;
    const auto now = std::chrono::steady_clock::now();
    if (last_report_ && now - *last_report_ < std::chrono::seconds(1)) {
      ++suppressed_;
      return;
    }
    last_report_ = now;
    log_->error("database error op={} failed_writes={} suppressed={} error=\"{}\"", op, failed_writes, suppressed_,
                what);
    suppressed_ = 0;
  }

  // On the worker, for start(): the database opened but cannot be read. Move it aside, start a
  // fresh one, and read that (nothing), as the constructor does for one that does not open.
  Loaded reset_and_load(const std::string& why, bool is_transient, WallTime now) {
    log_->critical("event=STATE_RESET error=\"{}\"", why);
    if (!db_->autocommit()) {
      try {
        db_->exec("ROLLBACK");
      } catch (const std::exception&) {
      }
    }
    db_.reset();
    survive(why, is_transient);
    db_->exec("BEGIN");  // run_batch's transaction was on the old connection
    return load_and_mark_running(now);
  }

  Loaded load_and_mark_running(WallTime now) {
    Loaded loaded;
    const std::int64_t now_ms = to_unix_ms(now);

    {
      auto q = db_->once("SELECT running, started_ms, alive_ms, stopped_ms FROM daemon WHERE id = 1");
      if (q.step()) {
        loaded.unclean_stop = q.int32(0) != 0;
        auto alive = q.opt_int64(2);
        auto stopped = q.opt_int64(3);
        auto last = loaded.unclean_stop ? (alive ? alive : q.opt_int64(1)) : (stopped ? stopped : alive);
        if (last) {
          loaded.last_alive = from_unix_ms(*last);
        }
      }
    }

    // Runs still open were cut off by the death of their daemon: they ended, at the latest, at
    // its last sign of life (never before they started).
    const std::int64_t ended_ms = loaded.last_alive ? to_unix_ms(*loaded.last_alive) : now_ms;
    {
      auto q = db_->once("SELECT " + kRunColumns +
                         ", output FROM runs WHERE ended_at_ms IS NULL ORDER BY entry, run_id, attempt");
      while (q.step()) {
        loaded.interrupted.push_back(read_run(q, true));
      }
    }
    for (auto& r : loaded.interrupted) {
      const std::int64_t started_ms = to_unix_ms(r.started_at);
      const std::int64_t end = std::max(ended_ms, started_ms);
      r.ended_at = from_unix_ms(end);
      r.duration_ms = end - started_ms;
      r.outcome = "interrupted";
      r.reason = "daemon stopped while running";
      auto u = db_->once(
          "UPDATE runs SET ended_at_ms = ?4, duration_ms = ?5, outcome = ?6, reason = ?7 "
          "WHERE entry = ?1 AND run_id = ?2 AND attempt = ?3");
      u.bind(1, r.entry).bind(2, r.run_id).bind(3, r.attempt).bind(4, end).bind(5, r.duration_ms);
      u.bind(6, r.outcome).bind(7, r.reason).run();
    }

    {
      auto q = db_->once("SELECT entry, last_tick_ms FROM schedules ORDER BY entry");
      while (q.step()) {
        ScheduleState s{q.text(0), std::nullopt};
        if (auto tick = q.opt_int64(1)) {
          s.last_tick = from_unix_ms(*tick);
        }
        loaded.schedules.push_back(std::move(s));
      }
    }
    {
      // One index probe per entry rather than a window over the whole table.
      auto q = db_->once("SELECT " + kRunColumns +
                         " FROM runs WHERE rowid IN (SELECT (SELECT n.rowid FROM runs AS n WHERE n.entry = e.entry "
                         "ORDER BY n.run_id DESC, n.attempt DESC LIMIT 1) FROM (SELECT DISTINCT entry FROM runs) AS e) "
                         "ORDER BY entry");
      while (q.step()) {
        loaded.last_results.push_back(read_run(q, false));
      }
    }
    {
      auto q = db_->once(
          "SELECT id, seq, notifier, created_at_ms, attempts, state, last_error, payload FROM outbox "
          "WHERE state = 'pending' ORDER BY seq");
      while (q.step()) {
        OutboxRecord r;
        r.id = q.text(0);
        r.seq = q.int64(1);
        r.notifier = q.text(2);
        r.created_at = from_unix_ms(q.int64(3));
        r.attempts = q.int32(4);
        r.state = q.text(5);
        r.last_error = q.text(6);
        r.payload = q.text(7);
        loaded.outbox.push_back(std::move(r));
      }
    }
    {
      auto q =
          db_->once("SELECT target, until_ms, reason, created_at_ms, created_by FROM silences WHERE until_ms > ?1");
      q.bind(1, now_ms);
      while (q.step()) {
        loaded.silences.push_back(
            {q.text(0), from_unix_ms(q.int64(1)), q.text(2), from_unix_ms(q.int64(3)), q.text(4)});
      }
      auto d = db_->once("DELETE FROM silences WHERE until_ms <= ?1");
      d.bind(1, now_ms).run();
    }
    {
      auto q = db_->once("SELECT key, body FROM alerts ORDER BY key");
      while (q.step()) {
        loaded.active_alerts.emplace_back(q.text(0), q.text(1));
      }
    }
    {
      auto q = db_->once("SELECT coalesce(max(run_id), 0) FROM runs");
      if (q.step()) {
        loaded.max_run_id = q.int64(0);
      }
    }
    {
      auto q = db_->once(
          "INSERT INTO daemon (id, running, started_ms, alive_ms) VALUES (1, 1, ?1, ?1) "
          "ON CONFLICT (id) DO UPDATE SET running = 1, started_ms = ?1, alive_ms = ?1");
      q.bind(1, now_ms).run();
    }
    return loaded;
  }

  // SPEC "Bad state is survived". A damaged database is moved aside (kept for a post-mortem) and a
  // fresh one started. One that cannot be used now but may be whole (a lock, a permission, the
  // disk), or that cannot be moved, is left exactly as it is, and tendd runs on a database in
  // memory until it restarts. Either way the daemon raises state_reset; only a fresh file that
  // cannot be created after a move is fatal.
  void survive(const std::string& why, bool is_transient) {
    Store::Reset r{why, is_transient ? std::string() : move_aside(path_), false};
    r.in_memory = r.moved_to.empty();
    log_->critical("event=STATE_RESET error=\"{}\" {}", why,
                   r.in_memory ? "in_memory=true (the file is left as it is)" : "moved_to=" + r.moved_to);
    db_ = r.in_memory ? open_database(":memory:", *log_) : open_database(path_, *log_);
    reset_ = std::move(r);
  }

  boost::asio::io_context& io_;
  std::string path_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<sqlite::Db> db_;     // the worker's alone once it runs
  std::optional<Store::Reset> reset_;  // set before the worker starts

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> queue_;                                                // guarded by mutex_
  bool stopping_ = false;                                                 // guarded by mutex_
  std::function<void(bool healthy, std::string error)> health_listener_;  // guarded by mutex_

  // Worker-only: writes held back while the disk fails, in order; the health last told.
  std::deque<Task> held_;
  bool healthy_ = true;
  std::chrono::steady_clock::time_point last_failure_{};
  std::string last_error_;

  std::atomic<std::uint64_t> write_errors_{0};

  // Worker-only error-log rate limit.
  std::optional<std::chrono::steady_clock::time_point> last_report_;
  std::uint64_t suppressed_ = 0;

  std::thread worker_;  // last member: joined first on destruction
};

Store::Store(boost::asio::io_context& io, const std::string& path) : impl_(std::make_unique<Impl>(io, path)) {}

Store::~Store() = default;

Loaded Store::start(WallTime now) {
  // Through the worker like everything else, so it is ordered with any write queued before it;
  // the caller (main, before the loop runs) may block, the loop never does.
  auto promise = std::make_shared<std::promise<Loaded>>();
  auto future = promise->get_future();
  impl_->submit({"start", true, [impl = impl_.get(), now, promise]() -> Impl::After {
                   Loaded loaded;
                   try {
                     loaded = impl->load_and_mark_running(now);
                   } catch (const std::exception& e) {
                     // The file opened and passed its check, yet cannot be read: as corrupt.
                     loaded = impl->reset_and_load(e.what(), transient(e), now);
                   }
                   auto shared = std::make_shared<Loaded>(std::move(loaded));
                   // A failing commit (a full disk) is not fatal: the daemon runs on what it read;
                   // the writes are held back and state_write_failed says so.
                   return [promise, shared](bool /*committed*/) { promise->set_value(std::move(*shared)); };
                 }});
  return future.get();
}

std::optional<Store::Reset> Store::reset() const { return impl_->reset_; }

void Store::on_health(std::function<void(bool healthy, std::string error)> listener) {
  std::lock_guard lock(impl_->mutex_);
  impl_->health_listener_ = std::move(listener);
}

void Store::put_run(RunRecord record, std::function<void(bool committed)> done) {
  submit_durable("put_run", std::move(done), [impl = impl_.get(), r = std::move(record)] {
    try {
      auto q = impl->db_->query("INSERT OR REPLACE INTO runs (" + kRunColumns +
                                ", output) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
      q.bind(1, r.entry).bind(2, r.kind).bind(3, r.run_id).bind(4, r.attempt);
      q.bind(5, to_unix_ms(r.started_at)).bind(6, to_ms(r.ended_at)).bind(7, r.duration_ms);
      q.bind(8, r.outcome).bind(9, r.exit_code).bind(10, r.signal).bind(11, r.reason);
      q.bind(12, r.output).run();
    } catch (const std::exception& e) {
      // Name the record: "CHECK constraint failed" alone says nothing about which.
      throw std::runtime_error("entry=" + r.entry + " run=" + std::to_string(r.run_id) +
                               " attempt=" + std::to_string(r.attempt) + ": " + e.what());
    }
  });
}

void Store::put_schedule(ScheduleState s) {
  impl_->submit({"put_schedule", true, [impl = impl_.get(), s = std::move(s)]() -> Impl::After {
                   auto q = impl->db_->query(
                       "INSERT INTO schedules (entry, last_tick_ms) VALUES (?1, ?2) "
                       "ON CONFLICT (entry) DO UPDATE SET last_tick_ms = excluded.last_tick_ms");
                   q.bind(1, s.entry).bind(2, to_ms(s.last_tick)).run();
                   return {};
                 }});
}

void Store::mark_alive(WallTime now) {
  impl_->submit({"mark_alive", true, [impl = impl_.get(), ms = to_unix_ms(now)]() -> Impl::After {
                   auto q = impl->db_->query(
                       "INSERT INTO daemon (id, running, started_ms, alive_ms) VALUES (1, 1, ?1, ?1) "
                       "ON CONFLICT (id) DO UPDATE SET alive_ms = ?1");
                   q.bind(1, ms).run();
                   return {};
                 }});
}

void Store::mark_clean_stop(WallTime now) {
  impl_->submit({"mark_clean_stop", true, [impl = impl_.get(), ms = to_unix_ms(now)]() -> Impl::After {
                   auto q = impl->db_->query(
                       "INSERT INTO daemon (id, running, alive_ms, stopped_ms) VALUES (1, 0, ?1, ?1) "
                       "ON CONFLICT (id) DO UPDATE SET running = 0, alive_ms = ?1, stopped_ms = ?1");
                   q.bind(1, ms).run();
                   return {};
                 }});
}

void Store::prune(int keep_runs, int keep_days, WallTime now) {
  const std::int64_t keep = keep_runs > 0 ? keep_runs : std::numeric_limits<std::int64_t>::max();
  const std::int64_t cutoff =
      keep_days > 0 ? to_unix_ms(now - std::chrono::days(keep_days)) : std::numeric_limits<std::int64_t>::min();
  impl_->submit({"prune", true, [impl = impl_.get(), keep, cutoff]() -> Impl::After {
                   // Runs are kept or deleted whole: dense_rank numbers runs, not attempts, and a
                   // run's age is that of its latest attempt, so history never shows a retry
                   // without its first attempt. The newest run of an entry survives the age limit:
                   // a @yearly job's last result must not vanish from status after keep_days, and
                   // the global max run_id must never go down (ids would be reused).
                   auto q = impl->db_->once(
                       "DELETE FROM runs WHERE rowid IN (SELECT id FROM (SELECT rowid AS id, "
                       "max(started_at_ms) OVER (PARTITION BY entry, run_id) AS run_started, "
                       "dense_rank() OVER (PARTITION BY entry ORDER BY run_id DESC) AS nth FROM runs) "
                       "WHERE nth > 1 AND (nth > ?1 OR run_started < ?2))");
                   q.bind(1, keep).bind(2, cutoff).run();
                   // Given-up notifications and the alert log age out with the run history.
                   auto f = impl->db_->once("DELETE FROM outbox WHERE state = 'failed' AND created_at_ms < ?1");
                   f.bind(1, cutoff).run();
                   auto l = impl->db_->once("DELETE FROM alert_log WHERE at_ms < ?1");
                   l.bind(1, cutoff).run();
                   return {};
                 }});
}

void Store::put_outbox(OutboxRecord r, std::function<void(bool committed)> done) {
  submit_durable("put_outbox", std::move(done), [impl = impl_.get(), r = std::move(r)] {
    auto q = impl->db_->query(
        "INSERT OR REPLACE INTO outbox (id, seq, notifier, created_at_ms, attempts, state, last_error, "
        "payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    q.bind(1, r.id).bind(2, r.seq).bind(3, r.notifier).bind(4, to_unix_ms(r.created_at));
    q.bind(5, r.attempts).bind(6, r.state).bind(7, r.last_error).bind(8, r.payload);
    q.run();
  });
}

void Store::submit_durable(const char* op, std::function<void(bool committed)> done, std::function<void()> write) {
  if (!done) {
    impl_->submit({op, true, [write = std::move(write)]() -> Impl::After {
                     write();
                     return {};
                   }});
    return;
  }
  // `done` exactly once, on the loop: after the commit, or at once when the write fails or is held
  // back (a failing disk): the caller goes on either way, durably or not.
  auto pending = std::make_shared<std::function<void(bool)>>(std::move(done));
  auto tell = [io = &impl_->io_, pending](bool ok) {
    if (*pending) {
      boost::asio::post(*io, [d = std::move(*pending), ok] { d(ok); });
      *pending = nullptr;
    }
  };
  Impl::Task task{op, true, [write = std::move(write), tell]() -> Impl::After {
                    try {
                      write();
                    } catch (const std::exception&) {
                      tell(false);  // the caller goes on now; the write may still be retried
                      throw;
                    }
                    return [tell](bool committed) { tell(committed); };
                  }};
  task.on_hold = [tell] { tell(false); };
  impl_->submit(std::move(task));
}

void Store::outbox_sent(std::string id) {
  impl_->submit({"outbox_sent", true, [impl = impl_.get(), id = std::move(id)]() -> Impl::After {
                   auto q = impl->db_->query("DELETE FROM outbox WHERE id = ?1");
                   q.bind(1, id).run();
                   return {};
                 }});
}

void Store::outbox_failed(std::string id, int attempts, std::string error) {
  impl_->submit({"outbox_failed", true,
                 [impl = impl_.get(), id = std::move(id), attempts, error = std::move(error)]() -> Impl::After {
                   auto q = impl->db_->query(
                       "UPDATE outbox SET state = 'failed', attempts = ?2, last_error = ?3 WHERE id = ?1");
                   q.bind(1, id).bind(2, attempts).bind(3, error).run();
                   return {};
                 }});
}

void Store::outbox_attempted(std::string id, int attempts, std::string error) {
  impl_->submit({"outbox_attempted", true,
                 [impl = impl_.get(), id = std::move(id), attempts, error = std::move(error)]() -> Impl::After {
                   auto q = impl->db_->query("UPDATE outbox SET attempts = ?2, last_error = ?3 WHERE id = ?1");
                   q.bind(1, id).bind(2, attempts).bind(3, error).run();
                   return {};
                 }});
}

void Store::put_alert(std::string key, std::string json) {
  impl_->submit(
      {"put_alert", true, [impl = impl_.get(), key = std::move(key), json = std::move(json)]() -> Impl::After {
         auto q = impl->db_->query(
             "INSERT INTO alerts (key, body) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET body = ?2");
         q.bind(1, key).bind(2, json).run();
         return {};
       }});
}

void Store::delete_alert(std::string key) {
  impl_->submit({"delete_alert", true, [impl = impl_.get(), key = std::move(key)]() -> Impl::After {
                   auto q = impl->db_->query("DELETE FROM alerts WHERE key = ?1");
                   q.bind(1, key).run();
                   return {};
                 }});
}

void Store::put_silence(SilenceRecord s) {
  impl_->submit({"put_silence", true, [impl = impl_.get(), s = std::move(s)]() -> Impl::After {
                   auto q = impl->db_->query(
                       "INSERT OR REPLACE INTO silences (target, until_ms, reason, created_at_ms, created_by) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)");
                   q.bind(1, s.target).bind(2, to_unix_ms(s.until)).bind(3, s.reason);
                   q.bind(4, to_unix_ms(s.created_at)).bind(5, s.created_by).run();
                   return {};
                 }});
}

void Store::delete_silence(std::string target) {
  impl_->submit({"delete_silence", true, [impl = impl_.get(), target = std::move(target)]() -> Impl::After {
                   auto q = impl->db_->query("DELETE FROM silences WHERE target = ?1");
                   q.bind(1, target).run();
                   return {};
                 }});
}

void Store::log_alert(AlertLogRecord r) {
  impl_->submit({"log_alert", true, [impl = impl_.get(), r = std::move(r)]() -> Impl::After {
                   auto q = impl->db_->query(
                       "INSERT INTO alert_log (at_ms, kind, name, event, status, severity, summary, occurrences, "
                       "action, notifiers, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
                   q.bind(1, to_unix_ms(r.at)).bind(2, r.kind).bind(3, r.name).bind(4, r.event).bind(5, r.status);
                   q.bind(6, r.severity).bind(7, r.summary).bind(8, r.occurrences).bind(9, r.action);
                   q.bind(10, r.notifiers).bind(11, r.note).run();
                   return {};
                 }});
}

void Store::alert_log(std::string name, int limit, std::function<void(std::vector<AlertLogRecord>)> done) {
  impl_->submit(
      {"alert_log", false,
       [impl = impl_.get(), name = std::move(name), limit, done = std::move(done)]() mutable -> Impl::After {
         std::vector<AlertLogRecord> rows;
         try {
           auto q = impl->db_->query(
               "SELECT id, at_ms, kind, name, event, status, severity, summary, occurrences, action, notifiers, note "
               "FROM alert_log WHERE ?1 = '' OR name = ?1 ORDER BY id DESC LIMIT ?2");
           q.bind(1, name).bind(2, limit);
           while (q.step()) {
             AlertLogRecord r;
             r.id = q.int64(0);
             r.at = from_unix_ms(q.int64(1));
             r.kind = q.text(2);
             r.name = q.text(3);
             r.event = q.text(4);
             r.status = q.text(5);
             r.severity = q.text(6);
             r.summary = q.text(7);
             r.occurrences = q.int32(8);
             r.action = q.text(9);
             r.notifiers = q.text(10);
             r.note = q.text(11);
             rows.push_back(std::move(r));
           }
         } catch (const std::exception& e) {
           impl->report("alert_log", e.what(), 0);
           rows.clear();
         }
         return impl->to_loop([done = std::move(done), rows = std::move(rows)]() mutable { done(std::move(rows)); });
       }});
}

void Store::summarize(WallTime since, std::function<void(std::vector<EntrySummary>)> done) {
  impl_->submit(
      {"summarize", false,
       [impl = impl_.get(), since_ms = to_unix_ms(since), done = std::move(done)]() mutable -> Impl::After {
         std::vector<EntrySummary> rows;
         try {
           // Final attempts only for jobs (a retried run counts once, by its last attempt).
           auto q = impl->db_->query(
               "SELECT e.entry, e.kind, "
               "  (SELECT count(*) FROM runs r WHERE r.entry = e.entry AND r.started_at_ms >= ?1 "
               "     AND r.outcome NOT IN ('running', 'skipped')), "
               "  (SELECT count(*) FROM runs r WHERE r.entry = e.entry AND r.started_at_ms >= ?1 "
               "     AND r.outcome IN ('failure', 'timeout', 'down', 'missed', 'interrupted')), "
               "  (SELECT coalesce(sum(duration_ms), 0) FROM runs r WHERE r.entry = e.entry "
               "     AND r.started_at_ms >= ?1 AND r.ended_at_ms IS NOT NULL), "
               "  (SELECT coalesce(max(duration_ms), 0) FROM runs r WHERE r.entry = e.entry "
               "     AND r.started_at_ms >= ?1 AND r.ended_at_ms IS NOT NULL), "
               "  (SELECT max(ended_at_ms) FROM runs r WHERE r.entry = e.entry AND r.outcome IN ('success', 'up')), "
               "  (SELECT r.outcome FROM runs r WHERE r.entry = e.entry ORDER BY r.run_id DESC, r.attempt DESC "
               "     LIMIT 1) "
               "FROM (SELECT DISTINCT entry, kind FROM runs WHERE kind IN ('job', 'probe', 'check')) AS e "
               "ORDER BY e.kind, e.entry");
           q.bind(1, since_ms);
           while (q.step()) {
             EntrySummary s;
             s.entry = q.text(0);
             s.kind = q.text(1);
             s.runs = q.int32(2);
             s.failures = q.int32(3);
             s.total_ms = q.int64(4);
             s.max_ms = q.int64(5);
             if (auto t = q.opt_int64(6)) {
               s.last_success = from_unix_ms(*t);
             }
             s.last_outcome = q.text(7);
             rows.push_back(std::move(s));
           }
         } catch (const std::exception& e) {
           impl->report("summarize", e.what(), 0);
         }
         return impl->to_loop([done = std::move(done), rows = std::move(rows)]() mutable { done(std::move(rows)); });
       }});
}

void Store::history(std::string entry, int limit, std::function<void(std::vector<RunRecord>)> done) {
  impl_->submit(
      {"history", false,
       [impl = impl_.get(), entry = std::move(entry), limit, done = std::move(done)]() mutable -> Impl::After {
         std::vector<RunRecord> runs;
         try {
           auto q = impl->db_->query("SELECT " + kRunColumns +
                                     " FROM runs WHERE entry = ?1 ORDER BY run_id DESC, attempt DESC LIMIT ?2");
           q.bind(1, entry).bind(2, limit);
           while (q.step()) {
             runs.push_back(read_run(q, false));
           }
         } catch (const std::exception& e) {
           impl->report("history", e.what(), 0);
           runs.clear();  // an error answers "no history", never a partial list
         }
         return impl->to_loop([done = std::move(done), runs = std::move(runs)]() mutable { done(std::move(runs)); });
       }});
}

void Store::recent(std::vector<std::string> entries, int runs, WallTime since,
                   std::function<void(std::map<std::string, std::vector<RunRecord>>)> done) {
  impl_->submit(
      {"recent", false,
       [impl = impl_.get(), entries = std::move(entries), runs, since,
        done = std::move(done)]() mutable -> Impl::After {
         std::map<std::string, std::vector<RunRecord>> out;
         try {
           // Probes: their results since `since` in hours, one record per hour (through the
           // (entry, started_at_ms) index: what that hour held, not the whole history).
           static const std::string hours_sql =
               "SELECT MIN(started_at_ms), MAX(COALESCE(ended_at_ms, started_at_ms)), CAST(AVG(duration_ms) AS "
               "INTEGER), MAX(outcome = 'down'), MAX(outcome = 'restart_failed'), MAX(outcome = 'restarted') "
               "FROM runs WHERE entry = ?1 AND kind = 'probe' AND started_at_ms >= ?2 "
               "GROUP BY (started_at_ms - ?2) / 3600000 ORDER BY 1 DESC";
           // Anything else: its last `runs` runs (the primary key's order).
           static const std::string last_sql = "SELECT " + kRunColumns +
                                               " FROM runs WHERE entry = ?1 AND kind <> 'probe' "
                                               "ORDER BY run_id DESC, attempt DESC LIMIT ?2";
           for (const auto& entry : entries) {
             auto& rows = out[entry];
             {
               auto hours = impl->db_->query(hours_sql);
               hours.bind(1, entry).bind(2, to_unix_ms(since));
               while (hours.step()) {
                 RunRecord r;
                 r.entry = entry;
                 r.kind = "probe";
                 r.started_at = from_unix_ms(hours.int64(0));
                 r.ended_at = from_unix_ms(hours.int64(1));
                 r.duration_ms = hours.int64(2);
                 r.outcome = hours.int64(3) != 0   ? "down"
                             : hours.int64(4) != 0 ? "restart_failed"
                             : hours.int64(5) != 0 ? "restarted"
                                                   : "up";
                 rows.push_back(std::move(r));
               }
             }
             if (!rows.empty()) {
               continue;
             }
             auto last = impl->db_->query(last_sql);
             last.bind(1, entry).bind(2, runs);
             while (last.step()) {
               rows.push_back(read_run(last, false));
             }
           }
         } catch (const std::exception& e) {
           impl->report("recent", e.what(), 0);
           out.clear();
         }
         return impl->to_loop([done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
       }});
}

void Store::run_output(std::string entry, std::optional<std::int64_t> run_id,
                       std::function<void(std::optional<RunRecord>)> done) {
  impl_->submit(
      {"run_output", false,
       [impl = impl_.get(), entry = std::move(entry), run_id, done = std::move(done)]() mutable -> Impl::After {
         std::optional<RunRecord> record;
         try {
           auto q = run_id ? impl->db_->query("SELECT " + kRunColumns +
                                              ", output FROM runs WHERE entry = ?1 AND run_id = ?2 "
                                              "ORDER BY attempt DESC LIMIT 1")
                           : impl->db_->query("SELECT " + kRunColumns +
                                              ", output FROM runs WHERE entry = ?1 "
                                              "ORDER BY run_id DESC, attempt DESC LIMIT 1");
           q.bind(1, entry);
           if (run_id) {
             q.bind(2, *run_id);
           }
           if (q.step()) {
             record = read_run(q, true);
           }
         } catch (const std::exception& e) {
           impl->report("run_output", e.what(), 0);
           record.reset();
         }
         return impl->to_loop(
             [done = std::move(done), record = std::move(record)]() mutable { done(std::move(record)); });
       }});
}

void Store::flush(std::function<void()> done) {
  impl_->submit({"flush", false, [impl = impl_.get(), done = std::move(done)]() mutable -> Impl::After {
                   return impl->to_loop(std::move(done));
                 }});
}

std::uint64_t Store::write_errors() const { return impl_->write_errors_.load(std::memory_order_relaxed); }

}  // namespace tend::state
