// Builtin jobs with the daemon's real kinds (the registry of daemon/plugins/) on a real SQLite
// store: the digest describes each entry in its own words and goes through the routes.

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch.hpp>
#include <filesystem>

#include "alerts/engine.hpp"
#include "builtins/builtins.hpp"
#include "config/loader.hpp"
#include "entries/registry.hpp"
#include "plugins/plugins.hpp"
#include "remedies/remedy.hpp"
#include "support/fake_http.hpp"
#include "support/fake_launcher.hpp"
#include "support/manual_clock.hpp"

using namespace tend;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  Fixture()
      : dir(std::filesystem::temp_directory_path() / ("tend-builtins-" + std::to_string(::getpid()))),
        clock(*parse_iso8601("2026-11-21T10:00:00Z")) {
    std::filesystem::create_directories(dir);
    store = std::make_unique<state::Store>(io, (dir / "tend.db").string());
    loaded = store->start(clock.now());
    config::Sources none;
    auto r = config::load_text(R"(
daemon: {host: web-1, environment: production}
notifiers:
  hook: {type: webhook, url: "https://hooks.example/x"}
alerts:
  routes: [{notify: [hook]}]
jobs:
  backup: {schedule: "@daily", command: ["true"]}
  report: {schedule: "0 9 * * *", builtin: digest}
probes:
  api: {url: "http://127.0.0.1:9/health"}
)",
                               "t.yaml", none, plugins::config());
    REQUIRE(r.config);
    cfg = std::move(*r.config);
    alerts = std::make_unique<alerts::Engine>(alerts::Context{clock, *store, http, "tend-test"});
    alerts->start(cfg, loaded);
    runner = std::make_unique<builtins::Runner>(builtins::Context{
        clock, *store, *alerts, [this](const std::string& name) { return registry->find(name); }, cfg.daemon});
    services = std::make_unique<entries::Services>(
        entries::Services{io, clock, *store, bus, launcher, http, remedies, *runner, spread, cfg.daemon,
                          clock.mono_now(), [] { return std::int64_t{100}; }, [](Duration d) { return d; }});
    registry = std::make_unique<entries::Registry>(*services, plugins::kinds());
    registry->start(cfg.entries, loaded);
  }
  ~Fixture() {
    registry.reset();
    services.reset();
    runner.reset();
    alerts.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  void drain() {
    bool done = false;
    store->flush([&] { done = true; });
    while (!done) {
      io.run_one();
    }
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
  std::filesystem::path dir;
  testing::ManualClock clock;
  std::unique_ptr<state::Store> store;
  state::Loaded loaded;
  config::Config cfg;
  events::Bus bus;
  testing::FakeLauncher launcher;
  testing::FakeHttp http;
  remedies::Context remedies{io, launcher};
  Spread spread;
  std::unique_ptr<alerts::Engine> alerts;

  std::unique_ptr<builtins::Runner> runner;
  std::unique_ptr<entries::Services> services;
  std::unique_ptr<entries::Registry> registry;
};

}  // namespace

TEST_CASE("the registry lists the kinds config reads, and the builtins it takes", "[builtins][plugins]") {
  std::vector<std::string_view> kinds;
  for (const auto* k : plugins::kinds()) {
    kinds.push_back(k->section.kind);
  }
  CHECK(kinds == std::vector<std::string_view>{"job", "probe", "watch", "check"});
  CHECK(plugins::config().sections.size() == kinds.size());
  CHECK(plugins::config().builtins == builtins::names());
  CHECK(builtins::names() == std::vector<std::string_view>{"digest"});
}

TEST_CASE("digest: each entry in its own words, through the routes, as the run's output", "[builtins][digest]") {
  Fixture f;
  const auto t = f.clock.now();
  f.store->put_run({"backup", "job", 1, 1, t - 2h, t - 2h + 5s, 5000, "failure", 1, std::nullopt, "exit 1", ""});
  f.store->put_run({"backup", "job", 2, 1, t - 1h, t - 1h + 3s, 3000, "success", 0, std::nullopt, "exit 0", ""});
  f.store->put_run({"api", "probe", 3, 1, t - 1h, t - 1h, 10, "up", std::nullopt, std::nullopt, "", ""});
  f.store->put_run({"api", "probe", 4, 1, t - 30min, t - 30min, 10, "down", std::nullopt, std::nullopt, "", ""});
  f.store->put_run({"old", "job", 5, 1, t - 48h, t - 48h, 10, "failure", 1, std::nullopt, "", ""});
  f.drain();
  std::optional<std::tuple<bool, std::string, std::string>> result;
  f.runner->run("digest", "report", [&](bool ok, std::string reason, std::string text) {
    result = {ok, std::move(reason), std::move(text)};
  });
  f.drain();
  f.drain();
  REQUIRE(result);
  const auto& [ok, reason, text] = *result;
  INFO(text);
  CHECK(ok);
  CHECK(reason == "digest queued for hook");
  CHECK(text.find("daily digest for web-1") != std::string::npos);
  CHECK(text.find("✗ job backup: 2 run(s), 1 failed, avg 4s, max 5s") != std::string::npos);
  CHECK(text.find("✗ probe api: uptime 50.00% (1 down of 2 results)") != std::string::npos);  // the probe's words
  CHECK(text.find("job old: 0 run(s), 0 failed") != std::string::npos);  // gone from the config: the common form
  // Queued in the outbox as an info report of the job: one request to the receiver.
  for (int i = 0; i < 100 && f.http.pending.empty(); ++i) {
    f.drain();
  }
  REQUIRE(f.http.pending.size() == 1);
  auto body = boost::json::parse(f.http.pending.front()->request.body).as_object();
  CHECK(body["event"] == "digest");
  CHECK(body["severity"] == "info");
  CHECK(body["name"] == "report");
  bool unknown_done = false;
  f.runner->run("nosuch", "report", [&](bool done_ok, const std::string& why, const std::string&) {
    unknown_done = !done_ok && why == "unknown builtin 'nosuch'";
  });
  CHECK(unknown_done);
}
