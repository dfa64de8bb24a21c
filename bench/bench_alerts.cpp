// Alerting hot paths: routing an alert through a realistic route table, rendering each
// notifier's body, and the engine's cost per event when a burst is grouped (the path a job
// failing every second, or a flapping probe, takes) — with a real SQLite store behind it.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "alerts/manager.hpp"
#include "alerts/notifier.hpp"
#include "alerts/routing.hpp"
#include "support/fake_http.hpp"
#include "support/manual_clock.hpp"

using namespace tend;
using namespace std::chrono_literals;

namespace {

std::vector<config::Route> routes(int n) {
  std::vector<config::Route> out;
  for (int i = 0; i < n - 1; ++i) {
    config::Route r;
    r.match.name = "svc-" + std::to_string(i) + "-*";
    r.match.severity = i % 2 == 0 ? config::Severity::critical : config::Severity::warning;
    r.notify = {"n" + std::to_string(i % 5)};
    r.continue_matching = i % 7 == 0;
    out.push_back(r);
  }
  config::Route def;
  def.notify = {"default"};
  out.push_back(def);
  return out;
}

void BM_Route(benchmark::State& state) {
  const auto table = routes(static_cast<int>(state.range(0)));
  const alerts::Labels labels{config::Severity::critical, "job", "svc-unmatched-backup", "production"};
  for (auto _ : state) {
    benchmark::DoNotOptimize(alerts::route(table, labels));
  }
}
BENCHMARK(BM_Route)->Arg(5)->Arg(50);

alerts::Notification sample() {
  alerts::Notification n;
  n.id = alerts::new_id();
  n.notifier = "x";
  n.event = "failure";
  n.kind = "job";
  n.name = "backup";
  n.summary = "job backup failed (exit 1) after 4 attempts";
  n.detail = std::string(4000, 'o');
  n.host = "web-1";
  n.environment = "production";
  n.labels = {{"run_id", "812"}, {"exit_code", "1"}};
  return n;
}

void BM_Render(benchmark::State& state, const char* type) {
  auto notifier = alerts::make_notifier(type);
  const auto n = sample();
  for (auto _ : state) {
    benchmark::DoNotOptimize(notifier->render(n));
  }
}
BENCHMARK_CAPTURE(BM_Render, webhook, "webhook");
BENCHMARK_CAPTURE(BM_Render, slack, "slack");
BENCHMARK_CAPTURE(BM_Render, discord, "discord");

/// One event of a burst that is grouped into a firing alert: lookup, count, persist (queued to
/// the store's thread), rate-limited log line. The loop thread's cost only.
void BM_GroupedEvent(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / ("tend-bench-alerts-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    boost::asio::io_context io;
    testing::ManualClock clock(std::chrono::system_clock::now());
    testing::FakeHttp http;
    state::Store store(io, (dir / "tend.db").string());
    auto loaded = store.start(clock.now());
    config::Config cfg;
    config::NotifierConfig n;
    n.name = "hook";
    n.type = "webhook";
    n.url = "http://127.0.0.1:9/hook";
    cfg.notifiers = {n};
    cfg.alerts.routes = routes(10);
    cfg.alerts.routes.back().notify = {"hook"};
    config::JobConfig j;
    j.name = "backup";
    cfg.jobs = {j};
    alerts::Manager manager(alerts::Context{clock, store, http, "bench"});
    manager.start(cfg, loaded);
    events::Event e;
    e.kind = events::Kind::job;
    e.name = "backup";
    e.event = "failure";
    e.summary = "job backup failed (exit 1) after 1 attempt";
    e.detail = std::string(2000, 'o');
    e.labels = {{"run_id", "1"}, {"exit_code", "1"}};
    for (auto _ : state) {
      manager.on_event(e);
    }
    manager.shutdown();
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_GroupedEvent);

}  // namespace

BENCHMARK_MAIN();
