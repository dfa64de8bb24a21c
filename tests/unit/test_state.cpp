// The state store against real SQLite files, one fresh temp directory per test. Callbacks arrive
// through a real io_context, polled with a deadline: nothing here sleeps a fixed time.

#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "state/store.hpp"

namespace {

using namespace std::chrono_literals;
using tend::WallTime;
using tend::state::Loaded;
using tend::state::RunRecord;
using tend::state::Store;

WallTime at(std::int64_t ms) { return tend::from_unix_ms(ms); }

constexpr std::int64_t kDay = std::int64_t{24} * 3600 * 1000;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tend_state_XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

struct Fixture {
  TempDir dir;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard = boost::asio::make_work_guard(io);

  [[nodiscard]] std::string db() const { return (dir.path / "tend.db").string(); }

  // Run the loop until pred() holds; false when the deadline passed first.
  template <class Pred>
  bool run_until(Pred pred, std::chrono::seconds limit = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      io.run_one_for(100ms);
    }
    return true;
  }

  std::vector<RunRecord> history(Store& s, const std::string& entry, int limit) {
    std::optional<std::vector<RunRecord>> result;
    s.history(entry, limit, [&](std::vector<RunRecord> runs) { result = std::move(runs); });
    REQUIRE(run_until([&] { return result.has_value(); }));
    return *result;
  }

  std::optional<RunRecord> output(Store& s, const std::string& entry, std::optional<std::int64_t> run_id) {
    bool called = false;
    std::optional<RunRecord> result;
    s.run_output(entry, run_id, [&](std::optional<RunRecord> r) {
      called = true;
      result = std::move(r);
    });
    REQUIRE(run_until([&] { return called; }));
    return result;
  }

  void flush(Store& s) {
    bool done = false;
    s.flush([&] { done = true; });
    REQUIRE(run_until([&] { return done; }));
  }
};

// Direct access to the file, to check or tamper with what the store wrote.
struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  std::string scalar(const char* sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }
  void exec(const char* sql) { REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK); }
};

RunRecord make_run(std::string entry, std::int64_t run_id, int attempt, std::int64_t started_ms) {
  RunRecord r;
  r.entry = std::move(entry);
  r.kind = "job";
  r.run_id = run_id;
  r.attempt = attempt;
  r.started_at = at(started_ms);
  r.ended_at = at(started_ms + 250);
  r.duration_ms = 250;
  r.outcome = "success";
  r.exit_code = 0;
  r.reason = "exit 0";
  r.output = "run " + std::to_string(run_id) + " attempt " + std::to_string(attempt) + "\n";
  return r;
}

RunRecord running(std::string entry, std::int64_t run_id, std::int64_t started_ms) {
  RunRecord r = make_run(std::move(entry), run_id, 1, started_ms);
  r.ended_at.reset();
  r.duration_ms = 0;
  r.outcome = "running";
  r.exit_code.reset();
  r.reason = "";
  r.output = "";
  return r;
}

void check_same(const RunRecord& got, const RunRecord& want, bool with_output) {
  INFO("entry=" << want.entry << " run=" << want.run_id << " attempt=" << want.attempt);
  CHECK(got.entry == want.entry);
  CHECK(got.kind == want.kind);
  CHECK(got.run_id == want.run_id);
  CHECK(got.attempt == want.attempt);
  CHECK(got.started_at == want.started_at);
  CHECK(got.ended_at == want.ended_at);
  CHECK(got.duration_ms == want.duration_ms);
  CHECK(got.outcome == want.outcome);
  CHECK(got.exit_code == want.exit_code);
  CHECK(got.signal == want.signal);
  CHECK(got.reason == want.reason);
  if (with_output) {
    CHECK(got.output == want.output);
  } else {
    CHECK(got.output.empty());
  }
}

std::vector<std::pair<std::int64_t, int>> ids(const std::vector<RunRecord>& runs) {
  std::vector<std::pair<std::int64_t, int>> out;
  for (const auto& r : runs) {
    out.emplace_back(r.run_id, r.attempt);
  }
  return out;
}

using Ids = std::vector<std::pair<std::int64_t, int>>;

}  // namespace

TEST_CASE("put_run then history: newest first, fields round-trip, limit, no output", "[state]") {
  Fixture f;
  Store s(f.io, f.db());
  s.start(at(1'000));

  RunRecord a = make_run("backup", 1, 1, 1'000'001);
  a.ended_at = at(1'002'501);
  a.duration_ms = 2'500;
  a.outcome = "failure";
  a.exit_code = 1;
  a.reason = "exit 1";
  a.output = std::string("first attempt\n\0binary \xff\xfe tail\n", 29);
  RunRecord b = make_run("backup", 1, 2, 1'010'000);
  RunRecord c = running("backup", 2, 1'020'000);
  RunRecord d = make_run("backup", 3, 1, 1'030'000);
  d.outcome = "timeout";
  d.exit_code.reset();
  d.signal = 9;
  d.reason = "timeout after 5m";
  RunRecord other = make_run("api", 4, 1, 1'040'000);
  other.kind = "probe";
  other.outcome = "up";

  // Written out of order on purpose: history orders by (run_id, attempt), not by arrival.
  for (const auto& r : {b, d, a, other, c}) {
    s.put_run(r);
  }

  // No flush: a read queued after writes sees them (one ordered queue).
  auto runs = f.history(s, "backup", 10);
  REQUIRE(ids(runs) == Ids{{3, 1}, {2, 1}, {1, 2}, {1, 1}});
  check_same(runs[0], d, false);
  check_same(runs[1], c, false);
  check_same(runs[2], b, false);
  check_same(runs[3], a, false);
  CHECK_FALSE(runs[1].ended_at.has_value());
  CHECK_FALSE(runs[1].exit_code.has_value());
  CHECK_FALSE(runs[0].exit_code.has_value());
  CHECK(runs[0].signal == 9);

  CHECK(ids(f.history(s, "backup", 2)) == Ids{{3, 1}, {2, 1}});
  CHECK(f.history(s, "nothing", 10).empty());
  auto api = f.history(s, "api", 10);
  REQUIRE(api.size() == 1);
  check_same(api[0], other, false);

  SECTION("run_output: highest attempt, newest run by default, with output") {
    auto one = f.output(s, "backup", 1);
    REQUIRE(one);
    check_same(*one, b, true);

    auto newest = f.output(s, "backup", std::nullopt);
    REQUIRE(newest);
    check_same(*newest, d, true);

    CHECK_FALSE(f.output(s, "backup", 99).has_value());
    CHECK_FALSE(f.output(s, "nothing", std::nullopt).has_value());

    // Output bytes survive exactly (embedded NUL, invalid UTF-8).
    b.attempt = 3;
    b.output = a.output;
    s.put_run(b);
    auto binary = f.output(s, "backup", 1);
    REQUIRE(binary);
    CHECK(binary->attempt == 3);
    CHECK(binary->output.size() == 29);
    CHECK(binary->output == a.output);
  }

  SECTION("put_run replaces the record with the same (entry, run_id, attempt)") {
    RunRecord done = c;
    done.ended_at = at(1'020'700);
    done.duration_ms = 700;
    done.outcome = "success";
    done.exit_code = 0;
    done.reason = "exit 0";
    done.output = "all good\n";
    s.put_run(done);
    auto after = f.history(s, "backup", 10);
    REQUIRE(ids(after) == Ids{{3, 1}, {2, 1}, {1, 2}, {1, 1}});
    check_same(after[1], done, false);
  }
}

TEST_CASE("recent: a job's last runs, a probe's last 24 h by the hour, for the status page", "[state]") {
  Fixture f;
  Store s(f.io, f.db());
  s.start(at(1'000));
  constexpr std::int64_t hour = 3'600'000;
  const std::int64_t since = 10 * hour;
  std::int64_t id = 0;
  for (int i = 0; i < 30; ++i) {
    s.put_run(make_run("backup", ++id, 1, since + i * 1'000));
  }
  // A probe sampled every 10 minutes for 30 hours (6 before `since`): up, but down once in the
  // hour starting at since + 3 h, restarted once in the next; each hour's latency 10 ms + hour.
  for (std::int64_t t = since - 6 * hour; t < since + 24 * hour; t += hour / 6) {
    RunRecord r = make_run("api", ++id, 1, t);
    r.kind = "probe";
    const std::int64_t h = (t - since) / hour;
    r.outcome = t == since + 3 * hour + 20 * 60'000 ? "down" : t == since + 4 * hour ? "restarted" : "up";
    r.duration_ms = 10 + (t >= since ? h : 0);
    s.put_run(r);
  }
  std::optional<std::map<std::string, std::vector<RunRecord>>> got;
  s.recent({"backup", "api", "nothing"}, 20, at(since), [&](auto m) { got = std::move(m); });
  REQUIRE(f.run_until([&] { return got.has_value(); }));
  const auto& backup = got->at("backup");
  REQUIRE(backup.size() == 20);
  CHECK(backup.front().run_id == 30);  // newest first
  CHECK(backup.back().run_id == 11);
  CHECK(backup.front().output.empty());
  const auto& api = got->at("api");
  REQUIRE(api.size() == 24);  // one per hour since `since`, nothing before it
  CHECK(api.front().started_at == at(since + 23 * hour));
  CHECK(api.back().started_at == at(since));
  CHECK(api.back().kind == "probe");
  std::map<std::string, int> outcomes;
  for (const auto& r : api) {
    ++outcomes[r.outcome];
  }
  CHECK(outcomes == std::map<std::string, int>{{"down", 1}, {"restarted", 1}, {"up", 22}});
  CHECK(api[24 - 1 - 3].outcome == "down");
  CHECK(api[24 - 1 - 4].outcome == "restarted");
  CHECK(api[24 - 1 - 5].duration_ms == 15);  // the hour's mean latency
  CHECK(got->at("nothing").empty());
}

TEST_CASE("state survives a restart; clean and unclean stops; open runs become interrupted", "[state]") {
  Fixture f;
  {
    Store s(f.io, f.db());
    Loaded first = s.start(at(10'000));
    CHECK_FALSE(first.unclean_stop);
    CHECK_FALSE(first.last_alive.has_value());
    CHECK(first.max_run_id == 0);
    CHECK(first.schedules.empty());
    CHECK(first.last_results.empty());
    CHECK(first.interrupted.empty());

    s.put_run(make_run("backup", 7, 1, 10'100));
    s.put_run(make_run("backup", 7, 2, 10'200));
    s.put_run(make_run("api", 9, 1, 10'300));
    s.put_run(make_run("backup", 5, 1, 9'000));
    s.put_schedule({"backup", at(9'000)});
    s.put_schedule({"api", std::nullopt});
    s.put_schedule({"backup", at(9'500)});
    s.mark_alive(at(11'000));
    s.mark_clean_stop(at(12'000));
    // No flush: destruction finishes the queue.
  }
  {
    Store s(f.io, f.db());
    Loaded l = s.start(at(20'000));
    CHECK_FALSE(l.unclean_stop);
    CHECK(l.last_alive == at(12'000));
    CHECK(l.max_run_id == 9);
    REQUIRE(l.schedules.size() == 2);
    CHECK(l.schedules[0].entry == "api");
    CHECK_FALSE(l.schedules[0].last_tick.has_value());
    CHECK(l.schedules[1].entry == "backup");
    CHECK(l.schedules[1].last_tick == at(9'500));
    REQUIRE(l.last_results.size() == 2);
    check_same(l.last_results[0], make_run("api", 9, 1, 10'300), false);
    check_same(l.last_results[1], make_run("backup", 7, 2, 10'200), false);
    CHECK(l.interrupted.empty());
    CHECK(ids(f.history(s, "backup", 10)) == Ids{{7, 2}, {7, 1}, {5, 1}});

    // Now "crash": a run is in progress and the Store goes away without a clean stop.
    s.put_run(running("sync", 10, 20'500));
    s.put_run(make_run("sync", 8, 1, 19'000));
    s.mark_alive(at(21'000));
    s.mark_alive(at(22'000));
  }
  {
    Store s(f.io, f.db());
    Loaded l = s.start(at(30'000));
    CHECK(l.unclean_stop);
    CHECK(l.last_alive == at(22'000));
    CHECK(l.max_run_id == 10);
    REQUIRE(l.interrupted.size() == 1);
    const RunRecord& r = l.interrupted[0];
    CHECK(r.entry == "sync");
    CHECK(r.run_id == 10);
    CHECK(r.outcome == "interrupted");
    CHECK(r.ended_at == at(22'000));
    CHECK(r.duration_ms == 1'500);
    CHECK(r.reason == "daemon stopped while running");

    // The change is stored, and last_results already shows it.
    auto sync = f.history(s, "sync", 1);
    REQUIRE(sync.size() == 1);
    check_same(sync[0], r, false);
    REQUIRE(l.last_results.size() == 3);
    CHECK(l.last_results[2].entry == "sync");
    CHECK(l.last_results[2].outcome == "interrupted");

    // A run that started after the last liveness mark cannot have ended before it started.
    s.put_run(running("late", 11, 35'000));
  }
  {
    Store s(f.io, f.db());
    Loaded l = s.start(at(40'000));
    CHECK(l.unclean_stop);              // the previous instance never stopped cleanly either
    CHECK(l.last_alive == at(30'000));  // its start counts as its last sign of life
    REQUIRE(l.interrupted.size() == 1);
    CHECK(l.interrupted[0].entry == "late");
    CHECK(l.interrupted[0].ended_at == at(35'000));
    CHECK(l.interrupted[0].duration_ms == 0);
    s.mark_clean_stop(at(41'000));
  }
  {
    Store s(f.io, f.db());
    Loaded l = s.start(at(50'000));
    CHECK_FALSE(l.unclean_stop);
    CHECK(l.last_alive == at(41'000));
    CHECK(l.interrupted.empty());
    CHECK(l.max_run_id == 11);
  }
}

TEST_CASE("records flushed before a SIGKILL are all there after a restart", "[state][crash]") {
  Fixture f;
  const std::string path = f.db();
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: no Catch assertions here, only exit codes the parent can read.
    try {
      boost::asio::io_context io;
      auto guard = boost::asio::make_work_guard(io);
      Store s(io, path);
      s.start(at(1'000));
      for (int i = 1; i <= 100; ++i) {
        s.put_run(make_run("crashy", i, 1, 1'000 + i));
      }
      s.mark_alive(at(2'000));
      bool done = false;
      s.flush([&] { done = true; });
      const auto deadline = std::chrono::steady_clock::now() + 60s;
      while (!done) {
        if (std::chrono::steady_clock::now() > deadline) {
          _exit(2);
        }
        io.run_one_for(100ms);
      }
      raise(SIGKILL);  // no destructor, no close, no checkpoint
    } catch (...) {
      _exit(3);
    }
    _exit(4);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);

  Store s(f.io, path);
  Loaded l = s.start(at(5'000));
  CHECK(l.unclean_stop);
  CHECK(l.last_alive == at(2'000));
  CHECK(l.max_run_id == 100);
  auto runs = f.history(s, "crashy", 1'000);
  REQUIRE(runs.size() == 100);
  CHECK(runs.front().run_id == 100);
  CHECK(runs.back().run_id == 1);
  check_same(runs[50], make_run("crashy", 50, 1, 1'050), false);
}

TEST_CASE("prune enforces keep_runs and keep_days", "[state]") {
  Fixture f;
  Store s(f.io, f.db());
  s.start(at(0));
  const std::int64_t now = 100 * kDay;

  // a: runs 1..10, one a day until now; run 9 has two attempts.
  for (int i = 1; i <= 10; ++i) {
    s.put_run(make_run("a", i, 1, now - (11 - i) * kDay));
  }
  s.put_run(make_run("a", 9, 2, now - 2 * kDay + 1'000));
  // b: two runs past keep_days, one inside.
  s.put_run(make_run("b", 11, 1, now - 50 * kDay));
  s.put_run(make_run("b", 12, 1, now - 40 * kDay));
  s.put_run(make_run("b", 13, 1, now - 5 * kDay));
  // c: a rare job whose only run is old: its last result stays.
  s.put_run(make_run("c", 14, 1, now - 200 * kDay));
  // d: everything old; the newest run stays, the rest goes by age.
  s.put_run(make_run("d", 15, 1, now - 60 * kDay));
  s.put_run(make_run("d", 16, 1, now - 45 * kDay));
  // e: a run whose retry straddles the age limit is kept whole (its latest attempt is recent).
  s.put_run(make_run("e", 17, 1, now - 31 * kDay));
  s.put_run(make_run("e", 18, 1, now - 31 * kDay));
  s.put_run(make_run("e", 18, 2, now - 29 * kDay));
  s.put_run(make_run("e", 19, 1, now - 1 * kDay));

  // Non-positive limits mean "no limit".
  s.prune(0, 0, at(now));
  CHECK(f.history(s, "a", 100).size() == 11);
  CHECK(f.history(s, "b", 100).size() == 3);

  s.prune(3, 30, at(now));
  CHECK(ids(f.history(s, "a", 100)) == Ids{{10, 1}, {9, 2}, {9, 1}, {8, 1}});
  CHECK(ids(f.history(s, "b", 100)) == Ids{{13, 1}});
  CHECK(ids(f.history(s, "c", 100)) == Ids{{14, 1}});
  CHECK(ids(f.history(s, "d", 100)) == Ids{{16, 1}});
  CHECK(ids(f.history(s, "e", 100)) == Ids{{19, 1}, {18, 2}, {18, 1}});

  s.prune(1, 30, at(now));
  CHECK(ids(f.history(s, "a", 100)) == Ids{{10, 1}});
}

TEST_CASE("a failing write is logged rate-limited, counted, and does not stop other writes", "[state]") {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  auto logger = std::make_shared<spdlog::logger>("state", sink);
  spdlog::register_logger(logger);
  struct Drop {
    ~Drop() { spdlog::drop("state"); }
  } drop;

  Fixture f;
  Store s(f.io, f.db());
  s.start(at(0));
  CHECK(s.write_errors() == 0);

  s.put_run(make_run("ok", 1, 1, 1'000));
  s.put_run(make_run("", 2, 1, 1'000));    // CHECK (entry <> '')
  s.put_run(make_run("ok", 3, 0, 1'000));  // CHECK (attempt >= 1)
  for (int i = 0; i < 50; ++i) {
    s.put_run(make_run("", 100 + i, 1, 1'000));
  }
  s.put_run(make_run("ok", 4, 1, 1'000));
  f.flush(s);

  CHECK(s.write_errors() == 52);
  CHECK(ids(f.history(s, "ok", 10)) == Ids{{4, 1}, {1, 1}});

  auto lines = sink->last_formatted();
  // One line a second at most; the burst takes far less than two.
  REQUIRE(!lines.empty());
  CHECK(lines.size() <= 2);
  CHECK_THAT(lines[0], Catch::Contains("op=put_run") && Catch::Contains("CHECK constraint failed") &&
                           Catch::Contains("entry= run=2 attempt=1"));
}

TEST_CASE("bad state is survived: a corrupt or unreadable database is moved aside for a fresh one", "[state]") {
  Fixture f;
  SECTION("missing directory: nothing to move aside, the daemon cannot start") {
    const std::string path = (f.dir.path / "missing" / "tend.db").string();
    CHECK_THROWS_WITH(Store(f.io, path), Catch::StartsWith("cannot open state database " + path + ": "));
  }
  SECTION("not a database") {
    {
      std::ofstream out(f.db(), std::ios::binary);
      out << std::string(4096, 'x');
    }
    Store s(f.io, f.db());
    const auto reset = s.reset();
    REQUIRE(reset);
    CHECK_THAT(reset->error, Catch::Contains("not a database"));
    CHECK_FALSE(reset->in_memory);
    REQUIRE_FALSE(reset->moved_to.empty());
    CHECK(std::filesystem::file_size(reset->moved_to) == 4096);  // kept for a post-mortem
    CHECK_THAT(reset->moved_to, Catch::StartsWith(f.db() + ".corrupt-"));
    const auto loaded = s.start(at(1'000'000));
    CHECK_FALSE(loaded.unclean_stop);  // a fresh database: nothing to report but the reset
    s.put_run(make_run("backup", 1, 1, 1'000'000));
    CHECK(f.history(s, "backup", 10).size() == 1);  // and it works
  }
  SECTION("a damaged page inside an otherwise valid file") {
    {
      Store s(f.io, f.db());
      s.start(at(1'000'000));
      for (int i = 1; i <= 200; ++i) {
        auto r = make_run("backup", i, 1, 1'000'000 + i);
        r.output = std::string(2000, 'o');
        s.put_run(r);
      }
      f.flush(s);
    }
    {
      // Scribble over the middle of the file: the header survives, a b-tree page does not.
      std::fstream io(f.db(), std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(static_cast<std::streamoff>(std::filesystem::file_size(f.db()) / 2));
      io << std::string(8192, '\x5a');
    }
    Store s(f.io, f.db());
    REQUIRE(s.reset());
    s.start(at(2'000'000));
    CHECK(f.history(s, "backup", 10).empty());
  }
  SECTION("schema from a newer tend: moved aside, not overwritten") {
    { Store s(f.io, f.db()); }
    {
      RawDb raw(f.db());
      raw.exec("PRAGMA user_version = 999");
    }
    Store s(f.io, f.db());
    REQUIRE(s.reset());
    CHECK_THAT(s.reset()->error, Catch::Contains("newer than this tend"));
  }
  SECTION("a database another process holds locked is left as it is; tendd runs on one in memory") {
    {
      Store s(f.io, f.db());
      s.start(at(1'000'000));
      s.put_run(make_run("backup", 1, 1, 1'000'000));
      f.flush(s);
    }
    RawDb holder(f.db());
    holder.exec("BEGIN IMMEDIATE");  // e.g. an sqlite3 shell left in a transaction: busy for good
    Store s(f.io, f.db());
    s.start(at(2'000'000));
    const auto reset = s.reset();
    REQUIRE(reset);
    CHECK(reset->in_memory);
    CHECK(reset->moved_to.empty());
    CHECK_THAT(reset->error, Catch::Contains("locked"));
    s.put_run(make_run("backup", 2, 1, 2'000'000));
    CHECK(ids(f.history(s, "backup", 10)) == Ids{{2, 1}});  // it runs on, in memory
    holder.exec("COMMIT");
    // Before, such a file was moved aside (or removed, when it could not be moved): history gone.
    CHECK(holder.scalar("SELECT count(*) FROM runs") == "1");
    for (const auto& entry : std::filesystem::directory_iterator(f.dir.path)) {
      CHECK(entry.path().filename().string().find("corrupt") == std::string::npos);
    }
  }
}

TEST_CASE("schema: WAL, versioned, migrations idempotent across reopen", "[state]") {
  Fixture f;
  { Store s(f.io, f.db()); }
  std::string version;
  {
    RawDb raw(f.db());
    CHECK(raw.scalar("PRAGMA journal_mode") == "wal");
    version = raw.scalar("PRAGMA user_version");
    CHECK(std::stoi(version) >= 1);
  }
  { Store s(f.io, f.db()); }
  RawDb raw(f.db());
  CHECK(raw.scalar("PRAGMA user_version") == version);
  // The newest-first reads walk the primary key index backwards; no sort step.
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw.db,
                             "EXPLAIN QUERY PLAN SELECT run_id FROM runs WHERE entry = 'x' "
                             "ORDER BY run_id DESC, attempt DESC LIMIT 5",
                             -1, &st, nullptr) == SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    plan += "; ";
  }
  sqlite3_finalize(st);
  INFO(plan);
  CHECK(plan.find("USING") != std::string::npos);
  CHECK(plan.find("TEMP B-TREE") == std::string::npos);
}

TEST_CASE("callbacks still arrive when the Store is destroyed before the loop runs them", "[state]") {
  Fixture f;
  bool history_done = false;
  bool flushed = false;
  {
    Store s(f.io, f.db());
    s.start(at(0));
    s.put_run(make_run("x", 1, 1, 0));
    s.history("x", 5, [&](std::vector<RunRecord> runs) { history_done = runs.size() == 1; });
    s.flush([&] { flushed = true; });
  }
  CHECK(f.run_until([&] { return history_done && flushed; }));
}

TEST_CASE("throughput: 10,000 put_run then flush, in bounded memory", "[state][perf]") {
  Fixture f;
  Store s(f.io, f.db());
  s.start(at(0));
  const std::string output(512, 'o');
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 1; i <= 10'000; ++i) {
    RunRecord r = make_run("job" + std::to_string(i % 20), i, 1, i);
    r.output = output;
    s.put_run(std::move(r));
  }
  const auto queued = std::chrono::steady_clock::now();
  f.flush(s);
  const auto end = std::chrono::steady_clock::now();
  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  WARN("10000 put_run (512 B output): queued in " << ms(queued - begin) << " ms, on disk after " << ms(end - begin)
                                                  << " ms");
  CHECK(s.write_errors() == 0);
  // SQLite's memory stays bounded as history grows (its page cache would take 2 MB by default).
  sqlite3_int64 used = 0;
  sqlite3_int64 peak = 0;
  REQUIRE(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &peak, 0) == SQLITE_OK);
  INFO("SQLite holds " << used << " bytes, peak " << peak);
  CHECK(used < 1024 * 1024);
  RawDb raw(f.db());
  CHECK(raw.scalar("SELECT count(*) FROM runs") == "10000");
  CHECK(std::stoll(raw.scalar("PRAGMA page_count")) * std::stoll(raw.scalar("PRAGMA page_size")) > 4 * 1024 * 1024);
}
