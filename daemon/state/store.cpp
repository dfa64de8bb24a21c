#include "state/store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
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
};

constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Writes that arrive while a transaction is being committed are committed together: one
// transaction per wake-up instead of one per record is what makes thousands of records a second
// cheap. The cap bounds the size of a single transaction (64 KiB outputs add up) and the delay
// before the first callback of a burst.
constexpr std::size_t kMaxBatch = 256;

constexpr auto kBusyTimeout = "PRAGMA busy_timeout = 5000";

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
      auto q = db.query("PRAGMA user_version");
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
    if (mode != "wal") {
      log.warn("database path={} journal_mode={} (WAL unavailable; writes may block readers)", path, mode);
    }
    // WAL + NORMAL: a commit is in the WAL (the OS's page cache) when it returns, so a crash or
    // SIGKILL of the daemon loses nothing committed; only a power loss or kernel crash may lose
    // the last transactions before a checkpoint's fsync. FULL would fsync on every commit, for a
    // guarantee run history does not need.
    db->exec("PRAGMA synchronous = NORMAL");
    db->exec("PRAGMA foreign_keys = ON");
    migrate(*db);
    return db;
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open state database " + path + ": " + e.what());
  }
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
  };

  Impl(boost::asio::io_context& io, const std::string& path)
      : io_(io),
        log_(spdlog::get("state") ? spdlog::get("state") : spdlog::default_logger()),
        db_(open_database(path, *log_)) {
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
        cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) {
          return;  // stopping, and everything queued before has been written
        }
        const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), kMaxBatch));
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
        queue_.erase(queue_.begin(), queue_.begin() + n);
      }
      run_batch(batch);
      batch.clear();
    }
  }

  void run_batch(std::vector<Task>& batch) {
    std::vector<After> afters;
    afters.reserve(batch.size());
    bool in_transaction = begin();
    std::uint64_t writes_in_transaction = 0;
    for (auto& task : batch) {
      try {
        if (auto after = task.run()) {
          afters.push_back(std::move(after));
        }
        if (task.write && in_transaction) {
          ++writes_in_transaction;
        }
      } catch (const std::exception& e) {
        report(task.op, e.what(), task.write ? 1 : 0);
      } catch (...) {
        report(task.op, "unknown exception", task.write ? 1 : 0);
      }
      if (in_transaction && db_->autocommit()) {
        // SQLITE_FULL, IOERR, NOMEM and the like roll back the whole transaction, not just the
        // statement: the batch's earlier writes are gone as well, so count them and go on in a
        // fresh transaction.
        report("transaction", "rolled back by an error; earlier writes of the batch lost", writes_in_transaction);
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
        if (!db_->autocommit()) {
          try {
            db_->exec("ROLLBACK");
          } catch (const std::exception& e2) {
            report("rollback", e2.what(), 0);
          }
        }
      }
    }
    // Callbacks go out even when the commit failed: a caller waiting on flush or a read must not
    // hang; the failure is in the log and in write_errors.
    for (auto& after : afters) {
      try {
        after(committed);
      } catch (const std::exception& e) {
        report("callback", e.what(), 0);
      }
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

  Loaded load_and_mark_running(WallTime now) {
    Loaded loaded;
    const std::int64_t now_ms = to_unix_ms(now);

    {
      auto q = db_->query("SELECT running, started_ms, alive_ms, stopped_ms FROM daemon WHERE id = 1");
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
      auto q = db_->query("SELECT " + kRunColumns +
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
      auto u = db_->query(
          "UPDATE runs SET ended_at_ms = ?4, duration_ms = ?5, outcome = ?6, reason = ?7 "
          "WHERE entry = ?1 AND run_id = ?2 AND attempt = ?3");
      u.bind(1, r.entry).bind(2, r.run_id).bind(3, r.attempt).bind(4, end).bind(5, r.duration_ms);
      u.bind(6, r.outcome).bind(7, r.reason).run();
    }

    {
      auto q = db_->query("SELECT entry, last_tick_ms FROM schedules ORDER BY entry");
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
      auto q =
          db_->query("SELECT " + kRunColumns +
                     " FROM runs WHERE rowid IN (SELECT (SELECT n.rowid FROM runs AS n WHERE n.entry = e.entry "
                     "ORDER BY n.run_id DESC, n.attempt DESC LIMIT 1) FROM (SELECT DISTINCT entry FROM runs) AS e) "
                     "ORDER BY entry");
      while (q.step()) {
        loaded.last_results.push_back(read_run(q, false));
      }
    }
    {
      auto q = db_->query(
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
          db_->query("SELECT target, until_ms, reason, created_at_ms, created_by FROM silences WHERE until_ms > ?1");
      q.bind(1, now_ms);
      while (q.step()) {
        loaded.silences.push_back(
            {q.text(0), from_unix_ms(q.int64(1)), q.text(2), from_unix_ms(q.int64(3)), q.text(4)});
      }
      auto d = db_->query("DELETE FROM silences WHERE until_ms <= ?1");
      d.bind(1, now_ms).run();
    }
    {
      auto q = db_->query("SELECT key, body FROM alerts ORDER BY key");
      while (q.step()) {
        loaded.active_alerts.emplace_back(q.text(0), q.text(1));
      }
    }
    {
      auto q = db_->query("SELECT coalesce(max(run_id), 0) FROM runs");
      if (q.step()) {
        loaded.max_run_id = q.int64(0);
      }
    }
    {
      auto q = db_->query(
          "INSERT INTO daemon (id, running, started_ms, alive_ms) VALUES (1, 1, ?1, ?1) "
          "ON CONFLICT (id) DO UPDATE SET running = 1, started_ms = ?1, alive_ms = ?1");
      q.bind(1, now_ms).run();
    }
    return loaded;
  }

  boost::asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<sqlite::Db> db_;  // the worker's alone once it runs

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_

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
                   try {
                     auto loaded = std::make_shared<Loaded>(impl->load_and_mark_running(now));
                     return [promise, loaded](bool committed) {
                       if (committed) {
                         promise->set_value(std::move(*loaded));
                       } else {
                         promise->set_exception(std::make_exception_ptr(
                             std::runtime_error("state database: cannot commit the start-up state")));
                       }
                     };
                   } catch (const std::exception& e) {
                     promise->set_exception(std::make_exception_ptr(std::runtime_error(
                         std::string("state database: cannot load the start-up state: ") + e.what())));
                     return {};
                   }
                 }});
  return future.get();
}

void Store::put_run(RunRecord record) {
  impl_->submit({"put_run", true, [impl = impl_.get(), r = std::move(record)]() -> Impl::After {
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
                   return {};
                 }});
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
                   auto q = impl->db_->query(
                       "DELETE FROM runs WHERE rowid IN (SELECT id FROM (SELECT rowid AS id, "
                       "max(started_at_ms) OVER (PARTITION BY entry, run_id) AS run_started, "
                       "dense_rank() OVER (PARTITION BY entry ORDER BY run_id DESC) AS nth FROM runs) "
                       "WHERE nth > 1 AND (nth > ?1 OR run_started < ?2))");
                   q.bind(1, keep).bind(2, cutoff).run();
                   // Given-up notifications and the alert log age out with the run history.
                   auto f = impl->db_->query("DELETE FROM outbox WHERE state = 'failed' AND created_at_ms < ?1");
                   f.bind(1, cutoff).run();
                   auto l = impl->db_->query("DELETE FROM alert_log WHERE at_ms < ?1");
                   l.bind(1, cutoff).run();
                   return {};
                 }});
}

void Store::put_outbox(OutboxRecord r, std::function<void(bool committed)> done) {
  impl_->submit(
      {"put_outbox", true, [impl = impl_.get(), r = std::move(r), done = std::move(done)]() mutable -> Impl::After {
         auto q = impl->db_->query(
             "INSERT OR REPLACE INTO outbox (id, seq, notifier, created_at_ms, attempts, state, last_error, "
             "payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
         q.bind(1, r.id).bind(2, r.seq).bind(3, r.notifier).bind(4, to_unix_ms(r.created_at));
         q.bind(5, r.attempts).bind(6, r.state).bind(7, r.last_error).bind(8, r.payload);
         // The callback must run whether or not the insert worked: the caller delivers
         // either way. A throwing run() would skip the After, so catch here.
         bool inserted = true;
         try {
           q.run();
         } catch (const std::exception& e) {
           impl->report("put_outbox", e.what(), 1);
           inserted = false;
         }
         return [io = &impl->io_, inserted, done = std::move(done)](bool committed) mutable {
           boost::asio::post(*io, [done = std::move(done), ok = inserted && committed] { done(ok); });
         };
       }});
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
                       "action, notifiers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
                   q.bind(1, to_unix_ms(r.at)).bind(2, r.kind).bind(3, r.name).bind(4, r.event).bind(5, r.status);
                   q.bind(6, r.severity).bind(7, r.summary).bind(8, r.occurrences).bind(9, r.action);
                   q.bind(10, r.notifiers).run();
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
               "SELECT id, at_ms, kind, name, event, status, severity, summary, occurrences, action, notifiers "
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
