// Probe verdicts (pure) and the probe state machine in virtual time: thresholds, verified
// remediation, the restart circuit breaker, pause, certificate expiry.

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <filesystem>

#include "probes/probe.hpp"
#include "support/fake_http.hpp"
#include "support/manual_clock.hpp"
#include "util/text.hpp"

using namespace tend;
using namespace std::chrono_literals;
using tend::testing::FakeHttp;
using tend::testing::ManualClock;

namespace {

/// FAKE remedy: counts restarts; the test decides how each ends.
struct FakeRemedy final : remedies::Remedy {
  explicit FakeRemedy(std::vector<remedies::Done>& calls) : calls_(calls) {}
  void run(remedies::Done done) override { calls_.push_back(std::move(done)); }
  [[nodiscard]] std::string describe() const override { return "fake restart"; }
  std::vector<remedies::Done>& calls_;
};

struct Fixture {
  Fixture()
      : dir(std::filesystem::temp_directory_path() /
            ("tend-probes-" + std::to_string(::getpid()) + "-" + std::to_string(counter++))),
        clock(*parse_iso8601("2026-11-21T10:00:00Z")) {
    std::filesystem::create_directories(dir);
    store = std::make_unique<state::Store>(io, (dir / "tend.db").string());
    store->start(clock.now());
    ctx = std::make_unique<probes::Context>(
        probes::Context{clock, http, *store, bus, [this] { return ++run_id; },
                        [this](const remedies::RemedyConfig&) -> std::unique_ptr<remedies::Remedy> {
                          return std::make_unique<FakeRemedy>(restarts);
                        }});
    bus.subscribe([this](const events::Event& e) { published.push_back(e); });
  }
  ~Fixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  static probes::ProbeConfig probe(bool with_remedy = true) {
    probes::ProbeConfig p;
    p.name = "api";
    p.url = "http://127.0.0.1:3000/health?token=s3cret";
    p.interval = 10s;
    p.timeout = 2s;
    p.failure_threshold = 3;
    if (with_remedy) {
      auto r = *remedies::parse_restart("{exec: [\"true\"]}");
      r.settle = 5s;
      r.max_restarts = 3;
      r.window = 15min;
      r.cooldown = 1h;
      p.remedy = r;
    }
    return p;
  }

  /// Advance to the next probe request and answer it.
  void tick(const http::Response& r) {
    for (int i = 0; i < 1000 && http.pending.empty(); ++i) {
      clock.advance(100ms);
    }
    REQUIRE(http.answer(r));
  }

  int count(const std::string& event, events::Status status) const {
    int n = 0;
    for (const auto& e : published) {
      n += (e.type->name == event && e.status == status) ? 1 : 0;
    }
    return n;
  }

  static inline int counter = 0;
  std::filesystem::path dir;
  boost::asio::io_context io;
  ManualClock clock;
  FakeHttp http;
  std::unique_ptr<state::Store> store;
  events::Bus bus;
  std::int64_t run_id = 0;
  std::vector<remedies::Done> restarts;
  std::unique_ptr<probes::Context> ctx;
  std::vector<events::Event> published;
};

remedies::Outcome ok_outcome() { return {true, "restarted", "", 10ms}; }

}  // namespace

TEST_CASE("verdicts: one precise reason", "[probes][evaluate]") {
  auto cfg = Fixture::probe(false);
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok()).up);
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::refused()).reason == "connect refused");
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok(502)).reason == "status 502");
  cfg.expect.status = {{200, 200}, {300, 399}};
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok(302)).up);
  CHECK_FALSE(probes::evaluate(cfg, nullptr, FakeHttp::ok(204)).up);
  cfg.expect.status = {{200, 299}};
  cfg.expect.body_contains = R"("status":"ok")";
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok(200, R"({"status":"ok"})")).up);
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok(200, "nope")).reason.rfind("body mismatch", 0) == 0);
  cfg.expect.body_contains.clear();
  auto re = probes::BodyRegex::compile("^v[0-9]+\\.[0-9]+$");
  REQUIRE(re);
  CHECK(probes::evaluate(cfg, re->get(), FakeHttp::ok(200, "v1.2")).up);
  CHECK(probes::evaluate(cfg, re->get(), FakeHttp::ok(200, "v1")).reason.rfind("body mismatch", 0) == 0);
  CHECK_FALSE(probes::BodyRegex::compile("([a-z]").ok());
  cfg.expect.json = probes::JsonExpect{"/db/status", "ok"};
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok(200, R"({"db":{"status":"ok"}})")).up);
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok(200, R"({"db":{"status":"down"}})")).reason ==
        "body mismatch: /db/status is 'down', expected 'ok'");
  CHECK(probes::evaluate(cfg, nullptr, FakeHttp::ok(200, "<html>")).reason.rfind("body mismatch: not JSON", 0) == 0);
  cfg.expect.json.reset();
  cfg.expect.max_latency = 2s;
  auto slow = FakeHttp::ok();
  slow.latency = 2400ms;
  CHECK(probes::evaluate(cfg, nullptr, slow).reason == "latency 2.4s > 2s");
}

// Found by fuzz_probe_response: the reason quoted the first 80 bytes of the server's value (and of
// the expectation), cutting a character in half; that reason is stored, shown and sent.
TEST_CASE("a reason quoting the body cuts it on a character boundary", "[probes][evaluate][fuzz]") {
  auto cfg = Fixture::probe(false);
  cfg.expect.json = probes::JsonExpect{"/status", "up"};
  const std::string value = std::string(79, 'x') + "\u00e9t\u00e9";  // the 80th byte starts an é
  const auto verdict = probes::evaluate(cfg, nullptr, FakeHttp::ok(200, R"({"status":")" + value + R"("})"));
  CHECK(verdict.reason == "body mismatch: /status is '" + std::string(79, 'x') + "', expected 'up'");
  CHECK(valid_utf8(verdict.reason) == verdict.reason);

  cfg.expect.json.reset();
  cfg.expect.body_contains = std::string(79, 'y') + "\u2713";
  const auto contains = probes::evaluate(cfg, nullptr, FakeHttp::ok(200, "nope"));
  CHECK(contains.reason == "body mismatch: no '" + std::string(79, 'y') + "'");
}

TEST_CASE("thresholds: down after 3 failures, up again after one success", "[probes][state]") {
  Fixture f;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe(false)));
  p->start(entries::Saved{});
  f.tick(FakeHttp::ok());
  CHECK(p->status().state == probes::State::up);
  f.tick(FakeHttp::refused());
  f.tick(FakeHttp::refused());
  CHECK(p->status().state == probes::State::up);
  CHECK(f.count("down", events::Status::firing) == 0);
  f.tick(FakeHttp::refused());
  CHECK(p->status().state == probes::State::down);
  CHECK(p->status().reason == "connect refused");
  f.tick(FakeHttp::refused());
  CHECK(f.count("down", events::Status::firing) == 1);  // once, not per failure
  f.tick(FakeHttp::ok());
  CHECK(p->status().state == probes::State::up);
  CHECK(f.count("down", events::Status::resolved) == 1);
  // The event never carries the URL's query (a token).
  for (const auto& e : f.published) {
    CHECK(e.labels.at("url") == "http://127.0.0.1:3000");
  }
}

TEST_CASE("probes keep their interval on the monotonic clock", "[probes][timing]") {
  Fixture f;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe(false)));
  p->start(entries::Saved{});
  f.clock.advance(5s);  // first probe within the spread
  REQUIRE(f.http.sent == 1);
  const auto first = f.clock.mono_now();
  f.http.answer(FakeHttp::ok());
  for (int i = 0; i < 6; ++i) {
    f.clock.advance(10s);
    CHECK(f.http.answer(FakeHttp::ok()));
  }
  CHECK(f.http.sent == 7);
  // An answer that never comes holds only this probe's next ticks, not the rate afterwards.
  f.clock.advance(35s);
  CHECK(f.http.sent == 8);
  f.http.answer(FakeHttp::ok());
  f.clock.advance(10s);
  CHECK(f.http.sent == 9);
  CHECK(f.clock.mono_now() - first == 105s);
}

TEST_CASE("verified remediation: restart, settle, probe, restarted", "[probes][remedy]") {
  Fixture f;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe()));
  p->start(entries::Saved{});
  for (int i = 0; i < 3; ++i) {
    f.tick(FakeHttp::ok(500));
  }
  REQUIRE(f.restarts.size() == 1);  // issued by the deciding probe, at once
  f.restarts[0](ok_outcome());
  CHECK(f.count("restarted", events::Status::firing) == 0);  // not before verification
  f.clock.advance(5s);                                       // settle
  REQUIRE(f.http.answer(FakeHttp::ok()));
  CHECK(f.count("restarted", events::Status::firing) == 1);
  CHECK(p->status().state == probes::State::up);
  CHECK(p->status().restarts_in_window == 1);

  SECTION("notify: failures keeps a successful restart quiet") {
    Fixture g;
    auto cfg = Fixture::probe();
    cfg.remedy->notify = remedies::Notify::failures;
    auto q = std::make_shared<probes::Probe>(*g.ctx, std::make_shared<const probes::ProbeConfig>(cfg));
    q->start(entries::Saved{});
    for (int i = 0; i < 3; ++i) {
      g.tick(FakeHttp::ok(500));
    }
    g.restarts.at(0)(ok_outcome());
    g.clock.advance(5s);
    g.http.answer(FakeHttp::ok());
    CHECK(g.count("restarted", events::Status::firing) == 0);
    CHECK(q->status().state == probes::State::up);
  }
}

TEST_CASE("a restart that does not bring the probe back is restart_failed", "[probes][remedy]") {
  Fixture f;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe()));
  p->start(entries::Saved{});
  for (int i = 0; i < 3; ++i) {
    f.tick(FakeHttp::ok(500));
  }
  f.restarts.at(0)(ok_outcome());
  f.clock.advance(5s);
  REQUIRE(f.http.answer(FakeHttp::ok(503)));
  CHECK(f.count("restart_failed", events::Status::firing) == 1);
  CHECK(f.published.back().type != &events::types::probe_restarted);

  SECTION("and a remedy that itself fails is restart_failed with its reason") {
    Fixture g;
    auto q = std::make_shared<probes::Probe>(*g.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe()));
    q->start(entries::Saved{});
    for (int i = 0; i < 3; ++i) {
      g.tick(FakeHttp::ok(500));
    }
    g.restarts.at(0)({false, "pm2 app 'api' not found in ubuntu's pm2 jlist", "", 5ms});
    REQUIRE(g.count("restart_failed", events::Status::firing) == 1);
    CHECK(g.published.back().summary.find("not found") != std::string::npos);
  }
}

TEST_CASE("circuit breaker: exactly max_restarts, one restart_limit, re-armed after cooldown", "[probes][remedy]") {
  Fixture f;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe()));
  p->start(entries::Saved{});
  // A target that never recovers, for 10 minutes (inside the 15-minute window).
  for (int i = 0; i < 60; ++i) {
    if (f.restarts.size() > 0 && f.restarts.back()) {
      auto done = std::move(f.restarts.back());
      f.restarts.back() = nullptr;
      done(ok_outcome());
    }
    f.tick(FakeHttp::ok(500));
  }
  CHECK(f.restarts.size() == 3);
  CHECK(f.count("restart_limit", events::Status::firing) == 1);
  CHECK(p->status().breaker_open);
  f.clock.advance(1h);  // cooldown: re-armed, and since still down, restarts again
  CHECK(f.count("restart_limit", events::Status::resolved) == 1);
  CHECK(f.restarts.size() == 4);
}

TEST_CASE("the breaker re-arms as soon as the probe is up again", "[probes][remedy]") {
  Fixture f;
  auto cfg = Fixture::probe();
  cfg.remedy->max_restarts = 1;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(cfg));
  p->start(entries::Saved{});
  for (int i = 0; i < 3; ++i) {
    f.tick(FakeHttp::ok(500));
  }
  f.restarts.at(0)(ok_outcome());
  f.clock.advance(5s);
  f.http.answer(FakeHttp::ok(500));  // verification fails
  f.tick(FakeHttp::ok(500));         // over the limit
  REQUIRE(p->status().breaker_open);
  f.tick(FakeHttp::ok());
  CHECK_FALSE(p->status().breaker_open);
  CHECK(f.count("restart_limit", events::Status::resolved) == 1);
}

TEST_CASE("pause holds probing and restarts", "[probes][pause]") {
  Fixture f;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe()));
  p->start(entries::Saved{});
  f.tick(FakeHttp::ok());
  const int sent = f.http.sent;
  p->pause(f.clock.now() + 10min);
  f.clock.advance(9min);
  CHECK(f.http.sent == sent);
  CHECK(p->status().paused);
  f.clock.advance(2min);
  CHECK(f.http.sent > sent);
  CHECK_FALSE(p->status().paused);
}

TEST_CASE("a certificate close to expiry raises cert_expiring once", "[probes][tls]") {
  Fixture f;
  auto p = std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe(false)));
  p->start(entries::Saved{});
  auto r = FakeHttp::ok();
  r.cert_expiry = f.clock.now() + 3 * 24h;
  f.tick(r);
  f.tick(r);
  CHECK(f.count("cert_expiring", events::Status::firing) == 1);
  r.cert_expiry = f.clock.now() + 90 * 24h;
  f.tick(r);
  CHECK(f.count("cert_expiring", events::Status::resolved) == 1);
}

TEST_CASE("history keeps every change and one sample a minute, not a row per result", "[probes]") {
  Fixture f;
  auto probe =
      std::make_shared<probes::Probe>(*f.ctx, std::make_shared<const probes::ProbeConfig>(Fixture::probe(false)));
  probe->start(entries::Saved{});
  auto rows = [&] {
    std::vector<state::RunRecord> out;
    bool done = false;
    f.store->history("api", -1, [&](std::vector<state::RunRecord> r) {
      out = std::move(r);
      done = true;
    });
    while (!done) {  // the store's worker posts the answer to the loop
      f.io.restart();
      f.io.run_one();
    }
    return out;
  };
  for (int i = 0; i < 6; ++i) {  // 6 results at 10 s: one row
    f.tick(FakeHttp::ok());
  }
  CHECK(rows().size() == 1);
  f.tick(FakeHttp::ok(500));  // a change: a row
  f.tick(FakeHttp::ok(500));
  f.tick(FakeHttp::ok(502));  // a new reason: a row
  CHECK(rows().size() == 3);
  for (int i = 0; i < 7; ++i) {  // 70 s more of the same: one sample
    f.tick(FakeHttp::ok(502));
  }
  auto all = rows();
  REQUIRE(all.size() == 4);
  CHECK(all[0].outcome == "down");
  CHECK(all[0].reason == "status 502");
  CHECK(all[3].outcome == "up");
  probe->retire();
}
