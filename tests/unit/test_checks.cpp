// Passive checks in virtual time: the every and schedule forms, pings that keep a check quiet,
// late on time, start without an end (hung), fail and exit codes, resolves, severity, pause,
// restore after a restart, reload, and the history records.

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch.hpp>
#include <filesystem>

#include "checks/check.hpp"
#include "support/manual_clock.hpp"

using namespace tend;
using namespace std::chrono_literals;
using checks::Report;
using checks::State;
using tend::testing::ManualClock;

namespace {

WallTime at(const char* iso) { return *parse_iso8601(iso); }

struct Fixture {
  Fixture()
      : dir(std::filesystem::temp_directory_path() /
            ("tend-checks-" + std::to_string(::getpid()) + "-" + std::to_string(counter++))),
        clock(at("2026-11-21T10:00:00Z")) {
    std::filesystem::create_directories(dir);
    store = std::make_unique<state::Store>(io, (dir / "tend.db").string());
    store->start(clock.now());
    ctx = std::make_unique<checks::Context>(checks::Context{clock, *store, bus, [this] { return ++run_id; }});
    bus.subscribe([this](const events::Event& e) { published.push_back(e); });
  }
  ~Fixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  static checks::CheckConfig every(Duration period, Duration grace) {
    checks::CheckConfig c;
    c.name = "backup";
    c.every = period;
    c.grace = grace;
    return c;
  }

  static checks::CheckConfig cron(const std::string& expr, Duration grace) {
    checks::CheckConfig c;
    c.name = "backup";
    c.schedule = *schedule::parse_schedule(expr, nullptr);
    c.grace = grace;
    return c;
  }

  std::unique_ptr<checks::Check> make(const checks::CheckConfig& cfg, std::optional<state::RunRecord> last = {}) {
    auto c = std::make_unique<checks::Check>(*ctx, std::make_shared<const checks::CheckConfig>(cfg));
    c->start(entries::Saved{std::move(last), std::nullopt, true});
    return c;
  }

  /// Records of a check, newest first, read back from SQLite.
  std::vector<state::RunRecord> history(const std::string& name) {
    std::vector<state::RunRecord> out;
    bool done = false;
    store->history(name, 100, [&](std::vector<state::RunRecord> r) {
      out = std::move(r);
      done = true;
    });
    io.restart();  // an earlier call may have run it out of work
    auto guard = boost::asio::make_work_guard(io);
    for (int i = 0; i < 100 && !done; ++i) {
      io.run_one_for(std::chrono::milliseconds(100));
    }
    REQUIRE(done);
    return out;
  }

  [[nodiscard]] std::vector<events::Event> events(const std::string& event, events::Status status) const {
    std::vector<events::Event> out;
    for (const auto& e : published) {
      if (e.type->name == event && e.status == status) {
        out.push_back(e);
      }
    }
    return out;
  }

  static Report ping(Report::What what, std::optional<int> exit_code = {}) {
    Report r;
    r.what = what;
    r.exit_code = exit_code;
    return r;
  }

  static inline int counter = 0;
  std::filesystem::path dir;
  boost::asio::io_context io;
  ManualClock clock;
  std::unique_ptr<state::Store> store;
  events::Bus bus;
  std::int64_t run_id = 0;
  std::unique_ptr<checks::Context> ctx;
  std::vector<events::Event> published;
};

}  // namespace

TEST_CASE("every: a new check is late every + grace after watching began", "[checks][every]") {
  Fixture f;
  auto c = f.make(Fixture::every(60s, 30s));
  CHECK(c->status().state == State::fresh);
  CHECK(format_iso8601(*c->status().expected) == "2026-11-21T10:01:00Z");
  CHECK(format_iso8601(*c->status().deadline) == "2026-11-21T10:01:30Z");
  f.clock.advance(89s);
  CHECK(c->status().state == State::fresh);
  CHECK(f.published.empty());
  f.clock.advance(1s);
  CHECK(c->status().state == State::late);
  auto late = f.events("late", events::Status::firing);
  REQUIRE(late.size() == 1);
  CHECK(late[0].type == &events::types::check_late);
  CHECK(late[0].severity == events::Severity::critical);
  CHECK(late[0].summary ==
        "check backup is late: no report within 1m + 30s grace after 2026-11-21T10:00:00Z (when tend began watching)");
  f.clock.advance(1h);  // still late: one firing, no repeats from here (alerting repeats)
  CHECK(f.events("late", events::Status::firing).size() == 1);
  auto h = f.history("backup");
  REQUIRE(h.size() == 1);
  CHECK(h[0].outcome == "late");
  CHECK(h[0].kind == "check");
}

TEST_CASE("every: pings keep the check quiet; the deadline counts from the last one", "[checks][every]") {
  Fixture f;
  auto c = f.make(Fixture::every(60s, 30s));
  for (int i = 0; i < 10; ++i) {
    f.clock.advance(80s);  // later than every, within grace
    CHECK(c->report(Fixture::ping(Report::What::success)) == State::up);
  }
  CHECK(f.published.empty());
  CHECK(format_iso8601(*c->status().deadline) == format_iso8601(f.clock.now() + 90s));
  f.clock.advance(90s);
  CHECK(c->status().state == State::late);
  CHECK(f.events("late", events::Status::firing).size() == 1);
}

TEST_CASE("a success after late resolves late; state up", "[checks][resolve]") {
  Fixture f;
  auto c = f.make(Fixture::every(60s, 10s));
  f.clock.advance(2min);
  REQUIRE(c->status().state == State::late);
  CHECK(c->report(Fixture::ping(Report::What::success)) == State::up);
  auto resolved = f.events("late", events::Status::resolved);
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].summary == "check backup reported in again (success)");
  CHECK(c->status().reason.empty());
  CHECK(format_iso8601(*c->status().last_success) == "2026-11-21T10:02:00Z");
}

TEST_CASE("fail and nonzero exits make it failing; a success resolves", "[checks][failure]") {
  Fixture f;
  auto cfg = Fixture::every(1h, 5min);
  cfg.severity = events::Severity::warning;
  auto c = f.make(cfg);
  Report r = Fixture::ping(Report::What::exit, 3);
  r.output = "line 1\nerror: disk full\n";
  r.duration_ms = 1234;
  CHECK(c->report(r) == State::failing);
  auto firing = f.events("failure", events::Status::firing);
  REQUIRE(firing.size() == 1);
  CHECK(firing[0].severity == events::Severity::warning);  // severity: overrides
  CHECK(firing[0].summary == "check backup failed (exit 3)");
  CHECK(firing[0].detail == "line 1\nerror: disk full");
  CHECK(firing[0].labels.at("exit_code") == "3");
  CHECK(c->status().consecutive_failures == 1);

  f.clock.advance(10min);
  CHECK(c->report(Fixture::ping(Report::What::fail)) == State::failing);
  CHECK(c->status().consecutive_failures == 2);
  CHECK(f.events("failure", events::Status::firing).size() == 2);
  CHECK(c->status().reason == "failure reported");

  f.clock.advance(10min);
  CHECK(c->report(Fixture::ping(Report::What::exit, 0)) == State::up);
  auto resolved = f.events("failure", events::Status::resolved);
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].summary == "check backup succeeded again after 2 failed reports");
  CHECK(c->status().consecutive_failures == 0);

  auto h = f.history("backup");
  REQUIRE(h.size() == 3);
  CHECK(h[0].outcome == "success");
  CHECK(h[0].exit_code == 0);
  CHECK(h[1].outcome == "failure");
  CHECK(h[1].reason == "failure reported");
  CHECK(h[2].outcome == "failure");
  CHECK(h[2].exit_code == 3);
  CHECK(h[2].duration_ms == 1234);
  CHECK(h[2].reason == "exit 3");
}

TEST_CASE("a failing check that keeps reporting is failing, not late", "[checks][failure]") {
  Fixture f;
  auto c = f.make(Fixture::every(60s, 10s));
  for (int i = 0; i < 5; ++i) {
    f.clock.advance(60s);
    c->report(Fixture::ping(Report::What::fail));
  }
  CHECK(c->status().state == State::failing);
  CHECK(f.events("late", events::Status::firing).empty());
  f.clock.advance(70s);  // it stopped reporting altogether
  CHECK(c->status().state == State::late);
}

TEST_CASE("start without an end within grace is a hung run: late", "[checks][start]") {
  Fixture f;
  auto c = f.make(Fixture::every(1h, 10min));
  f.clock.advance(1h);
  c->report(Fixture::ping(Report::What::start));
  CHECK(c->status().running_since.has_value());
  CHECK(format_iso8601(*c->status().deadline) == "2026-11-21T11:10:00Z");
  f.clock.advance(10min - 1s);
  CHECK(c->status().state == State::fresh);
  f.clock.advance(1s);
  CHECK(c->status().state == State::late);
  CHECK(c->status().reason == "started at 2026-11-21T11:00:00Z, no end after 10m");
  REQUIRE(f.events("late", events::Status::firing).size() == 1);

  f.clock.advance(5min);  // it finishes after all
  CHECK(c->report(Fixture::ping(Report::What::success)) == State::up);
  CHECK(f.events("late", events::Status::resolved).size() == 1);
  auto h = f.history("backup");
  REQUIRE(h.size() == 2);
  CHECK(h[0].outcome == "late");     // the late record is kept...
  CHECK(h[1].outcome == "success");  // ...and the run it was about is complete, with its duration
  CHECK(h[1].duration_ms == std::int64_t{15} * 60 * 1000);
  CHECK(format_iso8601(h[1].started_at) == "2026-11-21T11:00:00Z");
}

TEST_CASE("start then end: one record with the measured duration", "[checks][start]") {
  Fixture f;
  auto c = f.make(Fixture::every(1h, 10min));
  c->report(Fixture::ping(Report::What::start));
  auto h = f.history("backup");
  REQUIRE(h.size() == 1);
  CHECK(h[0].outcome == "started");
  f.clock.advance(42s);
  c->report(Fixture::ping(Report::What::exit, 0));
  h = f.history("backup");
  REQUIRE(h.size() == 1);
  CHECK(h[0].outcome == "success");
  CHECK(h[0].duration_ms == 42000);
  CHECK(h[0].reason == "exit 0");
}

TEST_CASE("schedule: late when no report arrives between a tick and tick + grace", "[checks][schedule]") {
  Fixture f;  // 10:00:00
  auto c = f.make(Fixture::cron("0 * * * *", 5min));
  CHECK(format_iso8601(*c->status().expected) == "2026-11-21T11:00:00Z");
  f.clock.advance(1h + 2min);  // 11:02: the 11:00 run reports
  c->report(Fixture::ping(Report::What::success));
  CHECK(format_iso8601(*c->status().deadline) == "2026-11-21T12:05:00Z");
  f.clock.advance(1h + 2min);  // 12:04: not late yet
  CHECK(c->status().state == State::up);
  f.clock.advance(1min);  // 12:05
  CHECK(c->status().state == State::late);
  CHECK(c->status().reason == "no report for the 2026-11-21T12:00:00Z tick by 2026-11-21T12:05:00Z (grace 5m)");
}

TEST_CASE("restore: a check that was up stays up; its deadline continues from its last success", "[checks][restore]") {
  Fixture f;  // 10:00:00
  state::RunRecord last{
      "backup", "check",      7,        1, at("2026-11-21T09:59:00Z"), at("2026-11-21T09:59:30Z"), 30000, "success",
      0,        std::nullopt, "exit 0", ""};
  auto c = f.make(Fixture::every(5min, 1min), last);
  CHECK(c->status().state == State::up);
  CHECK(format_iso8601(*c->status().deadline) == "2026-11-21T10:05:30Z");
  f.clock.advance(5min + 29s);
  CHECK(c->status().state == State::up);
  f.clock.advance(1s);
  CHECK(c->status().state == State::late);
}

TEST_CASE("restore: a deadline that passed while the daemon was down is late at once", "[checks][restore]") {
  Fixture f;  // 10:00:00
  state::RunRecord last{
      "backup", "check",      7,        1, at("2026-11-21T08:00:00Z"), at("2026-11-21T08:00:00Z"), 0, "success",
      0,        std::nullopt, "exit 0", ""};
  auto c = f.make(Fixture::every(1h, 10min), last);
  f.clock.advance(0ms);
  CHECK(c->status().state == State::late);
}

TEST_CASE("restore: failing stays failing and a success resolves it", "[checks][restore]") {
  Fixture f;
  state::RunRecord last{"backup", "check",      7,        1, f.clock.now() - 1min, f.clock.now() - 1min, 0, "failure",
                        1,        std::nullopt, "exit 1", ""};
  auto c = f.make(Fixture::every(1h, 10min), last);
  CHECK(c->status().state == State::failing);
  c->report(Fixture::ping(Report::What::success));
  CHECK(f.events("failure", events::Status::resolved).size() == 1);
}

TEST_CASE("restore: an open start is still open", "[checks][restore]") {
  Fixture f;
  state::RunRecord last{
      "backup",     "check",      7,         1, f.clock.now() - 1min, f.clock.now() - 1min, 0, "started",
      std::nullopt, std::nullopt, "started", ""};
  auto c = f.make(Fixture::every(1h, 10min), last);
  CHECK(c->status().running_since.has_value());
  f.clock.advance(2min);
  c->report(Fixture::ping(Report::What::success));
  auto h = f.history("backup");
  REQUIRE(h.size() == 1);
  CHECK(h[0].run_id == 7);
  CHECK(h[0].duration_ms == std::int64_t{3} * 60 * 1000);
}

TEST_CASE("paused: a deadline passing raises nothing; resume starts a fresh period", "[checks][pause]") {
  Fixture f;
  auto c = f.make(Fixture::every(60s, 10s));
  c->pause(std::nullopt);
  f.clock.advance(5min);
  CHECK(c->status().state == State::fresh);
  CHECK(f.published.empty());
  c->resume();
  CHECK(format_iso8601(*c->status().deadline) == "2026-11-21T10:06:10Z");
  f.clock.advance(69s);
  CHECK(f.published.empty());
  f.clock.advance(1s);
  CHECK(c->status().state == State::late);
}

TEST_CASE("paused: failures are recorded but raise nothing", "[checks][pause]") {
  Fixture f;
  auto c = f.make(Fixture::every(1h, 10min));
  c->pause(f.clock.now() + 10min);
  c->report(Fixture::ping(Report::What::fail));
  CHECK(c->status().state == State::failing);
  CHECK(f.published.empty());
  f.clock.advance(11min);
  CHECK_FALSE(c->status().paused);
  c->report(Fixture::ping(Report::What::fail));
  CHECK(f.events("failure", events::Status::firing).size() == 1);
}

TEST_CASE("reload: a changed check keeps its state and re-plans; a retired one stops", "[checks][reload]") {
  Fixture f;
  auto a = Fixture::every(60s, 10s);
  auto b = Fixture::every(1h, 10s);
  b.name = "report";
  auto backup = f.make(a);
  auto report = f.make(b);
  backup->report(Fixture::ping(Report::What::success));
  auto longer = a;
  longer.every = 10min;
  backup->update(std::make_shared<const checks::CheckConfig>(longer));
  CHECK(backup->status().state == State::up);
  CHECK(format_iso8601(*backup->status().deadline) == "2026-11-21T10:10:10Z");
  report->retire();
  f.clock.advance(2h);
  CHECK(f.events("late", events::Status::firing).size() == 1);  // backup only: report was retired
}

TEST_CASE("restore: state comes back from the newest check record", "[checks][restore]") {
  Fixture f;
  state::RunRecord late{"backup",     "check",      3,       1, f.clock.now(), f.clock.now(), 0, "late",
                        std::nullopt, std::nullopt, "late!", ""};
  auto c = f.make(Fixture::every(60s, 10s), late);
  CHECK(c->status().state == State::late);
  CHECK(c->status().reason == "late!");
}

TEST_CASE("ping requests are checked and bounded", "[checks][ping]") {
  namespace json = boost::json;
  CHECK(checks::parse_report(json::object{{"what", "fail"}, {"reason", "disk full"}})->what == Report::What::fail);
  CHECK(checks::parse_report(json::object{{"exit_code", 3}})->exit_code == 3);
  CHECK_FALSE(checks::parse_report(json::object{{"exit_code", 256}}));
  CHECK_FALSE(checks::parse_report(json::object{{"what", "exit"}}));
  CHECK_FALSE(checks::parse_report(json::object{{"what", "maybe"}}));
  CHECK_FALSE(checks::parse_report(json::object{{"duration_ms", -1}}));
  auto long_reason = checks::parse_report(json::object{{"reason", std::string(1000, 'x') + "\n"}});
  REQUIRE(long_reason);
  CHECK(long_reason->reason.size() == 200);
  // Cut on a character boundary: 99 x "é" (2 bytes) then "€" (3 bytes) keeps 198 bytes, no U+FFFD.
  std::string accents;
  for (int i = 0; i < 99; ++i) {
    accents += "\xC3\xA9";
  }
  auto cut = checks::parse_report(json::object{{"reason", accents + "\xE2\x82\xAC tail"}});
  REQUIRE(cut);
  CHECK(cut->reason == accents);
  // Text from outside becomes valid UTF-8, whatever bytes it came with.
  auto bad = checks::parse_report(json::object{{"output", std::string("ok \xff\xfe end")}});
  REQUIRE(bad);
  CHECK(bad->output == "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST_CASE("parse_what", "[checks]") {
  CHECK(checks::parse_what("start") == Report::What::start);
  CHECK(checks::parse_what("exit") == Report::What::exit);
  CHECK_FALSE(checks::parse_what("ok"));
}

TEST_CASE("pings are rate-limited per check: a flood is refused, not recorded", "[checks][ping][abuse]") {
  Fixture f;
  auto c = f.make(Fixture::every(1h, 10min));
  const boost::json::object fail{{"what", "fail"}};
  const boost::json::object ok{{"what", "success"}};
  int accepted = 0;
  std::string refusal;
  for (int i = 0; i < 500; ++i) {  // 500 fail/success pairs in no time at all
    for (const auto* req : {&fail, &ok}) {
      auto r = c->report(*req, f.clock.now());
      if (r) {
        ++accepted;
      } else {
        refusal = r.error();
      }
    }
  }
  CHECK(accepted == 20);
  CHECK(refusal.find("at most 5 pings a second") != std::string::npos);
  CHECK(f.events("failure", events::Status::firing).size() == 10);  // only what was accepted counts
  f.clock.advance(1s);                                              // the bucket refills at 5 a second
  int later = 0;
  for (int i = 0; i < 10; ++i) {
    later += c->report(ok, f.clock.now()) ? 1 : 0;
  }
  CHECK(later == 5);
}
