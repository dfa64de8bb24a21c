// Job policy in virtual time: retries and their backoff, overlap (forbid/allow/replace),
// cron ticks, missed ticks and catch-up, slow warnings, resolve after failure.

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <filesystem>
#include <map>

#include "jobs/job.hpp"
#include "jobs/retry.hpp"
#include "support/fake_launcher.hpp"
#include "support/manual_clock.hpp"

using namespace tend;
using namespace std::chrono_literals;
using tend::testing::FakeLauncher;
using tend::testing::ManualClock;

namespace {

WallTime at(const char* iso) { return *parse_iso8601(iso); }

/// Everything a Job needs, with virtual time, a fake launcher, and a real SQLite store.
struct Fixture {
  Fixture()
      : dir(std::filesystem::temp_directory_path() /
            ("tend-jobs-" + std::to_string(::getpid()) + "-" + std::to_string(counter++))),
        clock(at("2026-11-21T10:00:01Z")) {
    std::filesystem::create_directories(dir);
    store = std::make_unique<state::Store>(io, (dir / "tend.db").string());
    store->start(clock.now());
    ctx = std::make_unique<jobs::Context>(jobs::Context{clock, launcher, *store, bus, clock.mono_now(),
                                                        [this] { return ++run_id; },
                                                        [](Duration max) { return max / 2; }});
    bus.subscribe([this](const events::Event& e) { published.push_back(e); });
  }
  ~Fixture() {
    // A run still in progress keeps its job alive (so a job removed by reload can finish);
    // stopping them ends that, as the daemon does at shutdown.
    for (auto& j : made) {
      j->shutdown([] {});
    }
    made.clear();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  /// A job of this fixture, stopped when the fixture ends.
  std::shared_ptr<jobs::Job> make(const jobs::JobConfig& cfg) {
    made.push_back(std::make_shared<jobs::Job>(*ctx, std::make_shared<const jobs::JobConfig>(cfg)));
    return made.back();
  }

  jobs::JobConfig job(const std::string& schedule) {
    jobs::JobConfig c;
    c.name = "backup";
    c.schedule = *schedule::parse_schedule(schedule, nullptr);
    c.command = {"/bin/true"};
    return c;
  }

  /// Records of a job, newest first, read back from SQLite.
  std::vector<state::RunRecord> history(const std::string& name) {
    std::vector<state::RunRecord> out;
    bool done = false;
    store->history(name, 100, [&](std::vector<state::RunRecord> r) {
      out = std::move(r);
      done = true;
    });
    // The store answers from its own thread; keep the loop alive until it does.
    io.restart();
    auto guard = boost::asio::make_work_guard(io);
    for (int i = 0; i < 100 && !done; ++i) {
      io.run_one_for(std::chrono::milliseconds(100));
    }
    REQUIRE(done);
    return out;
  }

  /// Everything queued in the store so far committed and its callbacks run: a job's child starts
  /// once its running record is durable, so a spawn follows a tick only after this.
  void pump() {
    bool done = false;
    store->flush([&done] { done = true; });
    io.restart();  // a loop that ran out of work stays stopped until restarted
    auto guard = boost::asio::make_work_guard(io);
    for (int i = 0; i < 100 && !done; ++i) {
      io.run_one_for(std::chrono::milliseconds(100));
    }
    REQUIRE(done);
  }

  /// Virtual time forward, then pump().
  void advance(Duration d) {
    clock.advance(d);
    pump();
  }

  std::vector<std::string> events_named(const std::string& event, events::Status status) const {
    std::vector<std::string> out;
    for (const auto& e : published) {
      if (e.type->name == event && e.status == status) {
        out.push_back(e.summary);
      }
    }
    return out;
  }

  static inline int counter = 0;
  std::filesystem::path dir;
  boost::asio::io_context io;
  ManualClock clock;
  FakeLauncher launcher;
  std::unique_ptr<state::Store> store;
  events::Bus bus;
  std::int64_t run_id = 0;
  std::unique_ptr<jobs::Context> ctx;
  std::vector<events::Event> published;
  std::vector<std::shared_ptr<jobs::Job>> made;
};

}  // namespace

TEST_CASE("retry delays: fixed and exponential", "[jobs][retry]") {
  jobs::RetryConfig r{3, 10s, jobs::Backoff::exponential};
  CHECK(jobs::retry_delay(r, 2) == 10s);
  CHECK(jobs::retry_delay(r, 3) == 20s);
  CHECK(jobs::retry_delay(r, 4) == 40s);
  CHECK(jobs::retry_delay(r, 40) == 1h);  // capped
  r.backoff = jobs::Backoff::fixed;
  CHECK(jobs::retry_delay(r, 4) == 10s);
}

TEST_CASE("a failing job is retried at the backoff times, then alerts once", "[jobs][retry]") {
  Fixture f;
  auto cfg = f.job("0 0 1 1 *");
  cfg.retries = {3, 10s, jobs::Backoff::exponential};
  auto job = f.make(cfg);
  job->start(entries::Saved{});
  auto t0 = f.clock.mono_now();
  REQUIRE(job->run_now(nullptr).ok());
  f.pump();
  REQUIRE(f.launcher.spawned.size() == 1);

  std::vector<std::chrono::milliseconds> spawn_offsets = {0ms};
  for (int attempt = 1; attempt <= 4; ++attempt) {
    f.launcher.exit(f.launcher.spawned.size() - 1, 1, "boom " + std::to_string(attempt) + "\n");
    auto before = f.launcher.spawned.size();
    // Advance one second at a time until the next attempt starts (or give up after 2 minutes).
    for (int s = 0; s < 120 && f.launcher.spawned.size() == before; ++s) {
      f.advance(1s);
    }
    if (f.launcher.spawned.size() > before) {
      spawn_offsets.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(f.clock.mono_now() - t0));
    }
  }
  // Attempts at 0, +10s, +20s after that, +40s after that; no fifth attempt.
  REQUIRE(spawn_offsets.size() == 4);
  CHECK(spawn_offsets[1] == 10s);
  CHECK(spawn_offsets[2] == 30s);
  CHECK(spawn_offsets[3] == 70s);
  CHECK(f.launcher.spawned[3].spec.env.at("TEND_ATTEMPT") == "4");
  CHECK(f.events_named("failure", events::Status::firing).size() == 1);
  CHECK(job->status().consecutive_failures == 1);
  auto hist = f.history("backup");
  REQUIRE(hist.size() == 4);
  CHECK(hist[0].attempt == 4);
  CHECK(hist[0].outcome == "failure");
  CHECK(hist[0].reason == "exit 1");
  CHECK(hist[0].run_id == hist[3].run_id);
}

TEST_CASE("success after failure resolves the alert", "[jobs]") {
  Fixture f;
  auto job = f.make(f.job("0 0 1 1 *"));
  job->start(entries::Saved{});
  REQUIRE(job->run_now(nullptr).ok());
  f.pump();
  f.launcher.exit(0, 2);
  REQUIRE(job->run_now(nullptr).ok());
  f.pump();
  f.launcher.exit(1, 0);
  CHECK(f.events_named("failure", events::Status::firing).size() == 1);
  CHECK(f.events_named("failure", events::Status::resolved).size() == 1);
  CHECK(job->status().consecutive_failures == 0);
  CHECK(job->status().last->outcome == "success");
}

TEST_CASE("cron ticks fire at their times, in virtual time", "[jobs][schedule]") {
  Fixture f;  // starts at 10:00:01
  auto job = f.make(f.job("*/5 * * * *"));
  job->start(entries::Saved{});
  CHECK(format_iso8601(*job->status().next_run) == "2026-11-21T10:05:00Z");
  f.advance(298s);  // 10:04:59
  CHECK(f.launcher.spawned.empty());
  f.advance(1s);  // 10:05:00
  REQUIRE(f.launcher.spawned.size() == 1);
  f.launcher.exit(0, 0);
  CHECK(format_iso8601(*job->status().next_run) == "2026-11-21T10:10:00Z");
  f.advance(5min);  // 10:10:00
  REQUIRE(f.launcher.spawned.size() == 2);
  f.launcher.exit(1, 0);
  f.advance(5min);  // 10:15:00
  CHECK(f.launcher.spawned.size() == 3);
}

TEST_CASE("a cron tick never starts before its second, whatever the monotonic clock says", "[jobs][schedule]") {
  Fixture f;  // starts at 10:00:01
  auto job = f.make(f.job("* * * * * *"));
  job->start(entries::Saved{});
  // The wall clock falls 0.6 ms behind the monotonic one after the timer was set (a slewing NTP):
  // when the timer is due, the wall clock still says 10:00:01.9994.
  f.clock.step_wall(-600us);
  f.advance(1000ms);
  CHECK(f.launcher.spawned.empty());
  f.advance(1ms);
  REQUIRE(f.launcher.spawned.size() == 1);
  CHECK(f.clock.now() >= *parse_iso8601("2026-11-21T10:00:02Z"));
  f.launcher.exit(0, 0);
}

TEST_CASE("overlap: forbid skips and tells, allow overlaps, replace stops the old run", "[jobs][concurrency]") {
  SECTION("forbid") {
    Fixture f;
    auto job = f.make(f.job("* * * * *"));
    job->start(entries::Saved{});
    f.advance(59s);  // 10:01:00
    REQUIRE(f.launcher.spawned.size() == 1);
    f.advance(60s);  // 10:02:00: still running
    CHECK(f.launcher.spawned.size() == 1);
    CHECK(f.events_named("missed", events::Status::firing).size() == 1);
    CHECK_FALSE(job->run_now(nullptr).ok());
    f.pump();
    auto hist = f.history("backup");
    REQUIRE(hist.size() == 2);
    CHECK(hist[0].outcome == "skipped");
  }
  SECTION("allow") {
    Fixture f;
    auto cfg = f.job("* * * * *");
    cfg.concurrency = jobs::Concurrency::allow;
    auto job = f.make(cfg);
    job->start(entries::Saved{});
    f.advance(119s);
    CHECK(f.launcher.spawned.size() == 2);
    CHECK(job->status().running_count == 2);
  }
  SECTION("replace") {
    Fixture f;
    auto cfg = f.job("* * * * *");
    cfg.concurrency = jobs::Concurrency::replace;
    auto job = f.make(cfg);
    job->start(entries::Saved{});
    f.advance(59s);  // 10:01:00: the first run
    f.advance(60s);  // 10:02:00: the second replaces it
    REQUIRE(f.launcher.spawned.size() == 2);
    CHECK(f.launcher.spawned[0].stop_requested);
    CHECK(job->status().running_count == 1);
    auto hist = f.history("backup");
    CHECK(hist.back().outcome == "interrupted");
  }
}

TEST_CASE("ticks missed while down are reported, and caught up once", "[jobs][missed]") {
  Fixture f;  // now 10:00:01
  auto cfg = f.job("*/10 * * * *");
  cfg.catch_up = true;
  auto job = f.make(cfg);
  // Last handled tick 08:55 → 09:00 .. 10:00 were missed: 7 ticks.
  int missed = job->start(entries::Saved{std::nullopt, at("2026-11-21T08:55:00Z"), true});
  f.pump();
  CHECK(missed == 7);
  REQUIRE(f.events_named("missed", events::Status::firing).size() == 1);
  CHECK(f.events_named("missed", events::Status::firing)[0].find("missed 7 ticks") != std::string::npos);
  CHECK(f.launcher.spawned.size() == 1);  // one catch-up run, not seven
  auto hist = f.history("backup");
  REQUIRE(hist.size() == 2);
  CHECK(hist[1].outcome == "missed");

  SECTION("without catch_up nothing runs") {
    Fixture g;
    auto job2 = g.make(g.job("*/10 * * * *"));
    CHECK(job2->start(entries::Saved{std::nullopt, at("2026-11-21T09:45:00Z"), true}) == 2);
    CHECK(g.launcher.spawned.empty());
  }
}

TEST_CASE("ticks stepped over while the daemon was stopped are told as missed, once", "[jobs][missed]") {
  Fixture f;  // 10:00:01
  auto cfg = f.job("* * * * * *");
  cfg.concurrency = jobs::Concurrency::allow;
  auto job = f.make(cfg);
  job->start(entries::Saved{});
  f.advance(1s);  // 10:00:02
  REQUIRE(f.launcher.spawned.size() == 1);
  f.launcher.exit(0, 0);
  f.clock.stall(5500ms);  // stopped (SIGSTOP, a suspend) until 10:00:07.5: the timer of 03 fires late
  f.advance(0s);
  // 03 runs, late; 04, 05 and 06 were stepped over and are told once; 07 is this second's tick.
  REQUIRE(f.launcher.spawned.size() == 3);
  CHECK(f.launcher.spawned[1].spec.env.at("TEND_TICK") == "2026-11-21T10:00:03Z");
  CHECK(f.launcher.spawned[2].spec.env.at("TEND_TICK") == "2026-11-21T10:00:07Z");
  const auto missed = f.events_named("missed", events::Status::firing);
  REQUIRE(missed.size() == 1);
  CHECK(missed[0].find("missed 3 ticks while the daemon was not running") != std::string::npos);
  auto hist = f.history("backup");
  const auto row = std::find_if(hist.begin(), hist.end(), [](const auto& r) { return r.outcome == "missed"; });
  REQUIRE(row != hist.end());
  CHECK(format_iso8601(row->started_at) == "2026-11-21T10:00:04Z");
  CHECK(row->reason.rfind("3 missed", 0) == 0);
  // A loop that is merely late by less than a second steps over nothing.
  f.launcher.exit(1, 0);
  f.launcher.exit(2, 0);
  f.clock.stall(900ms);  // 10:00:08.4: the timer of 08 is 0.4 s late
  f.advance(0s);
  CHECK(f.launcher.spawned.size() == 4);
  CHECK(f.events_named("missed", events::Status::firing).size() == 1);
}

TEST_CASE("a failure still firing from before a restart is resolved by the next success, whatever came between",
          "[jobs][missed]") {
  Fixture f;  // 10:00:01
  auto job = f.make(f.job("@daily"));
  // The previous instance died: its newest record is a run it interrupted (or ticks it missed), so
  // the record does not say whether the failure before it still fires. Alerting knows; the job must
  // not keep its resolve to itself.
  state::RunRecord last;
  last.entry = "backup";
  last.kind = "job";
  last.run_id = 7;
  last.outcome = "interrupted";
  job->start(entries::Saved{last, std::nullopt, true});
  REQUIRE(job->run_now(nullptr).ok());
  f.pump();
  REQUIRE(f.launcher.spawned.size() == 1);
  f.launcher.exit(0, 0);
  const auto resolved = f.events_named("failure", events::Status::resolved);
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0] == "job backup succeeded again");
  // Once said, a later success says nothing more.
  REQUIRE(job->run_now(nullptr).ok());
  f.pump();
  f.launcher.exit(1, 0);
  CHECK(f.events_named("failure", events::Status::resolved).size() == 1);
}

TEST_CASE("warn_after raises slow while running, resolved when it ends", "[jobs][slow]") {
  Fixture f;
  auto cfg = f.job("0 0 1 1 *");
  cfg.warn_after = 3min;
  auto job = f.make(cfg);
  job->start(entries::Saved{});
  REQUIRE(job->run_now(nullptr).ok());
  f.pump();
  f.advance(179s);
  CHECK(f.events_named("slow", events::Status::firing).empty());
  f.advance(1s);
  CHECK(f.events_named("slow", events::Status::firing).size() == 1);
  f.launcher.exit(0, 0);
  CHECK(f.events_named("slow", events::Status::resolved).size() == 1);
}

TEST_CASE("pause holds ticks; --for resumes by itself", "[jobs][pause]") {
  Fixture f;
  auto job = f.make(f.job("* * * * *"));
  job->start(entries::Saved{});
  job->pause(f.clock.now() + 150s);
  f.advance(119s);  // ticks at 10:01 and 10:02 held
  CHECK(f.launcher.spawned.empty());
  CHECK(job->status().paused);
  f.advance(60s);  // 10:03 after the pause ended
  CHECK(f.launcher.spawned.size() == 1);
  CHECK_FALSE(job->status().paused);
}

TEST_CASE("a wall-clock step re-plans the next tick", "[jobs][clock]") {
  Fixture f;
  auto job = f.make(f.job("0 12 * * *"));
  job->start(entries::Saved{});
  CHECK(format_iso8601(*job->status().next_run) == "2026-11-21T12:00:00Z");
  f.clock.step_wall(90min);  // now 11:30:01 but the timer still waits ~2h of monotonic time
  job->replan();
  f.advance(30min);
  CHECK(f.launcher.spawned.size() == 1);
}

TEST_CASE("a tick the wall clock jumped over runs once, at once", "[jobs][clock]") {
  Fixture f;  // 10:00:01
  auto job = f.make(f.job("0 * * * *"));
  job->start(entries::Saved{});
  f.clock.step_wall(3h);  // 13:00:01: the 11:00, 12:00 and 13:00 ticks were jumped over
  job->replan();
  f.pump();
  CHECK(f.launcher.spawned.size() == 1);
  CHECK(format_iso8601(*job->status().next_run) == "2026-11-21T14:00:00Z");
  f.launcher.exit(0, 0);
  f.advance(59min);  // 13:59:01: nothing more
  CHECK(f.launcher.spawned.size() == 1);
  f.advance(1min);
  CHECK(f.launcher.spawned.size() == 2);
}

namespace {

// Cluster mode as a job sees it: claims wait here until the test answers them.
struct FakeCluster final : entries::Cluster {
  struct Grant final : entries::Cluster::Grant {
    explicit Grant(FakeCluster& c) : cluster(c) {}
    void finished(std::int64_t run_id, const std::string& outcome, const std::string& reason,
                  std::int64_t /*duration_ms*/) override {
      cluster.results.push_back(outcome + " " + std::to_string(run_id) + " " + reason);
    }
    FakeCluster& cluster;
  };
  struct Pending {
    std::string job;
    WallTime tick;
    bool catch_up;
    Granted done;
  };
  [[nodiscard]] const std::string& node() const override { return name; }
  void claim(const std::string& job, WallTime tick, bool catch_up, Granted done) override {
    pending.push_back({job, tick, catch_up, std::move(done)});
  }
  void attach(const std::string& job, Listener listener) override { attached[job] = std::move(listener); }
  void detach(const std::string& job) override { attached.erase(job); }
  /// Answer the oldest claim: won (a grant) or lost.
  void answer(bool won) {
    REQUIRE_FALSE(pending.empty());
    auto p = std::move(pending.front());
    pending.erase(pending.begin());
    p.done(won ? std::make_shared<Grant>(*this) : nullptr);
  }
  std::string name = "web-1";
  std::vector<Pending> pending;
  std::map<std::string, Listener> attached;
  std::vector<std::string> results;
};

}  // namespace

TEST_CASE("run_on: any claims each tick first and runs only what it won; host NAME elsewhere never runs",
          "[jobs][cluster]") {
  FakeCluster cluster;  // outlives the jobs
  Fixture f;            // 10:00:01
  f.ctx->cluster = &cluster;
  auto cfg = f.job("* * * * * *");
  cfg.run_on.mode = jobs::RunOn::Mode::any;
  auto job = f.make(cfg);
  job->start(entries::Saved{});
  CHECK(cluster.attached.count("backup") == 1);  // takes lost hosts' ticks
  CHECK(job->status_entry().at("run_on").as_string() == "any");

  f.advance(1s);  // 10:00:02: claimed, not started
  REQUIRE(cluster.pending.size() == 1);
  CHECK(format_iso8601(cluster.pending[0].tick) == "2026-11-21T10:00:02Z");
  CHECK_FALSE(cluster.pending[0].catch_up);
  CHECK(f.launcher.spawned.empty());
  cluster.answer(false);  // another host has it
  CHECK(f.launcher.spawned.empty());

  f.advance(1s);  // 10:00:03: won
  cluster.answer(true);
  f.pump();
  REQUIRE(f.launcher.spawned.size() == 1);
  CHECK(f.launcher.spawned[0].spec.env.at("TEND_NODE") == cluster.node());  // SPEC: jobs know their host
  f.launcher.exit(0, 0);
  REQUIRE(cluster.results.size() == 1);
  CHECK(cluster.results[0].rfind("success ", 0) == 0);

  // A run it had started on a host that was lost: one failure alert that says so, with the reason
  // as a label; the job's next success resolves it.
  REQUIRE(f.events_named("failure", events::Status::firing).empty());
  cluster.attached.at("backup").interrupted(at("2026-11-21T10:00:00Z"), "web-2");
  const auto lost = f.events_named("failure", events::Status::firing);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].find("web-2 was lost while it ran (host_lost)") != std::string::npos);
  CHECK(f.published.back().labels.at("reason") == "host_lost");
  CHECK(f.published.back().labels.at("node") == "web-2");
  f.advance(1s);
  cluster.answer(false);  // 10:00:03's: another host's
  f.advance(1s);
  cluster.answer(true);
  f.pump();
  REQUIRE(f.launcher.spawned.size() == 2);
  f.launcher.exit(1, 0);
  CHECK(f.events_named("failure", events::Status::resolved).size() == 1);

  // A tick given by the cluster (taken over from a lost host) runs like a scheduled one.
  cluster.attached.at("backup").given(at("2026-11-21T10:00:01Z"), std::make_shared<FakeCluster::Grant>(cluster));
  f.pump();
  REQUIRE(f.launcher.spawned.size() == 3);
  f.launcher.exit(2, 0);
  CHECK(cluster.results.size() == 3);

  // Removed by reload: no longer takes ticks.
  job->retire();
  CHECK(cluster.attached.empty());

  auto other = f.job("* * * * * *");
  other.name = "mail";
  other.run_on = {jobs::RunOn::Mode::host, "web-2"};
  auto elsewhere = f.make(other);
  elsewhere->start(entries::Saved{});
  const auto before = f.launcher.spawned.size();
  f.advance(3s);
  CHECK(f.launcher.spawned.size() == before);
  CHECK(cluster.pending.size() <= 3);  // only `backup`'s late claims, none of mail's
  for (const auto& p : cluster.pending) {
    CHECK(p.job == "backup");
  }
}
