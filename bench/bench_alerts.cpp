// Alerting hot paths: routing an alert through a realistic route table, rendering each
// notifier's body, the engine's cost per event when a burst is grouped (the path a job failing
// every second, or a flapping probe, takes), and a storm of distinct alerts grouped into one
// message per notifier (issue 15) — with a real SQLite store behind the engine, in virtual time
// (ManualClock, FakeHttp: tests/unit/test_alerts.cpp's Fixture).
//
// BM_GroupStorm/N: N probes api-0 .. api-N go down 100 µs of virtual time apart (10,000 in one
// second), grouped by kind and event (group_wait 30 s), routed to a webhook, a Slack and a
// Discord notifier. Counters (means per iteration; each iteration is a fresh engine and database):
//   take_cpu_ms    loop-thread CPU to take the N events: the on_event calls, then running the
//                  store's commit callbacks (the outbox queues each notification once durable)
//   take_wall_ms   the same in wall time (includes waiting for the store's thread to commit)
//   flush_cpu_ms   loop-thread CPU of the flush when group_wait ends: virtual time moved past it
//                  until every group message has been handed to the HTTP client
//   flush_wall_ms  the same in wall time
//   ack_cpu_ms     loop-thread CPU once the receivers answer 200: the members' outbox rows are
//                  deleted (not in the Time column: after the messages are sent)
//   messages       HTTP requests made (must be 3, one per notifier, or the run fails)
//   max_body_B     bytes of the largest message body
// Time is the wall time of take + flush; CPU is the loop thread's CPU over the same.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "alerts/engine.hpp"
#include "alerts/notifier.hpp"
#include "alerts/routing.hpp"
#include "events/event.hpp"
#include "support/fake_http.hpp"
#include "support/manual_clock.hpp"
#include "util/time.hpp"

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
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
    benchmark::DoNotOptimize(alerts::route(table, labels));
  }
}
BENCHMARK(BM_Route)->Arg(5)->Arg(50);

config::NotifierConfig notifier(const std::string& name, const std::string& type) {
  config::NotifierConfig n;
  n.name = name;
  n.type = type;
  n.url = "https://hooks.example/" + name + "/x";
  return n;
}

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
  n.started_at = *parse_iso8601("2026-11-21T10:00:03Z");
  n.created_at = *parse_iso8601("2026-11-21T10:00:04Z");
  return n;
}

void BM_Render(benchmark::State& state, const char* type) {
  const auto renderer = alerts::make_notifier(notifier("x", type));
  if (!renderer) {
    state.SkipWithError("no such notifier type");
    return;
  }
  const auto n = sample();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
    benchmark::DoNotOptimize(renderer->render(n));
  }
}
BENCHMARK_CAPTURE(BM_Render, webhook, "webhook");
BENCHMARK_CAPTURE(BM_Render, slack, "slack");
BENCHMARK_CAPTURE(BM_Render, discord, "discord");

// ---------------------------------------------------------------- the engine in virtual time

/// The settings of a bench entry: alerting only needs entries' names.
struct Entry : config::Settings<Entry> {
  bool operator==(const Entry&) const = default;
};

double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double wall_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// A fresh engine on a fresh state database (a temp SQLite file), as a daemon start makes it.
struct World {
  explicit World(config::Config c) : dir(make_dir()), clock(*parse_iso8601("2026-11-21T10:00:00Z")), cfg(std::move(c)) {
    store = std::make_unique<state::Store>(io, (dir / "tend.db").string());
    loaded = store->start(clock.now());
    engine = std::make_unique<alerts::Engine>(alerts::Context{clock, *store, http, "tend-bench"});
    engine->start(cfg, loaded);
    drain();
  }
  ~World() {
    engine.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  static std::filesystem::path make_dir() {
    auto d = std::filesystem::temp_directory_path() /
             ("tend-bench-alerts-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(d);
    return d;
  }

  /// Let the store commit what is queued and run its callbacks (the outbox's, once durable).
  void drain() {
    bool done = false;
    store->flush([&] { done = true; });
    while (!done) {
      io.run_one();
    }
  }

  static inline int counter = 0;
  std::filesystem::path dir;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
  testing::ManualClock clock;
  testing::FakeHttp http;
  config::Config cfg;
  std::unique_ptr<state::Store> store;
  state::Loaded loaded;
  std::unique_ptr<alerts::Engine> engine;
};

/// One event of a burst that is grouped into a firing alert: lookup, count, persist (queued to
/// the store's thread), rate-limited log line. The loop thread's cost only.
void BM_GroupedEvent(benchmark::State& state) {
  config::Config cfg;
  cfg.notifiers = {notifier("hook", "webhook")};
  cfg.alerts.routes = routes(10);
  cfg.alerts.routes.back().notify = {"hook"};
  cfg.entries.push_back(config::EntryConfig{"job", "backup", std::make_shared<Entry>()});
  const auto* type = events::find_type("job", "failure");
  if (type == nullptr) {
    state.SkipWithError("no event type job/failure");
    return;
  }
  World w(cfg);
  auto e = events::Event::of(*type, "backup");
  e.summary = "job backup failed (exit 1) after 1 attempt";
  e.detail = std::string(2000, 'o');
  e.labels = {{"run_id", "1"}, {"exit_code", "1"}};
  e.at = w.clock.now();
  std::int64_t since_drain = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
    w.engine->on_event(e);
    if (++since_drain == 4096) {
      // Each event queues a write of the alert: let the store's thread catch up, untimed, so the
      // queue (and memory) stays bounded however many iterations run.
      state.PauseTiming();
      w.drain();
      since_drain = 0;
      state.ResumeTiming();
    }
  }
  w.drain();
}
BENCHMARK(BM_GroupedEvent);

/// A webhook, a Slack and a Discord notifier on one route, grouped by kind and event; `probes`
/// probe entries api-0 .. api-N (tests/unit/test_alerts.cpp's grouping_config()).
config::Config storm_config(int probes) {
  config::Config c;
  c.daemon.host = "web-1";
  c.daemon.environment = "production";
  c.notifiers = {notifier("hook", "webhook"), notifier("chat", "slack"), notifier("disc", "discord")};
  config::Route r;
  r.notify = {"hook", "chat", "disc"};
  c.alerts.routes = {r};
  c.alerts.group_by = {"kind", "event"};
  c.alerts.group_wait = 30s;
  c.alerts.group_interval = 5min;
  for (int i = 0; i < probes; ++i) {
    c.entries.push_back(config::EntryConfig{"probe", "api-" + std::to_string(i), std::make_shared<Entry>()});
  }
  return c;
}

/// What a probe publishes when it goes down (probes/probe.cpp), for api-0 .. api-N.
std::vector<events::Event> storm_events(const events::EventType& type, int probes) {
  std::vector<events::Event> out;
  out.reserve(static_cast<std::size_t>(probes));
  for (int i = 0; i < probes; ++i) {
    const std::string name = "api-" + std::to_string(i);
    auto e = events::Event::of(type, name);
    e.summary = "probe " + name + " is down: connect refused (3 failures in a row)";
    e.detail = "connect refused";
    e.labels = {{"url", "http://10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080/health"},
                {"latency_ms", "0"}};
    out.push_back(std::move(e));
  }
  return out;
}

void BM_GroupStorm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  constexpr auto kSpacing = 100us;
  const auto cfg = storm_config(n);
  const auto* type = events::find_type("probe", "down");
  if (type == nullptr) {
    state.SkipWithError("no event type probe/down");
    return;
  }
  double take_cpu = 0;
  double take_wall = 0;
  double flush_cpu = 0;
  double flush_wall = 0;
  double ack_cpu = 0;
  double messages = 0;
  double max_body = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
    state.PauseTiming();
    auto w = std::make_unique<World>(cfg);
    auto storm = storm_events(*type, n);
    const auto opened = w->clock.now();  // the group opens with the first event
    state.ResumeTiming();

    // (a) The storm: N alerts within N × 100 µs of virtual time, then the store's commits. The step
    // follows every event, the last one too, so the commit callbacks run on a whole millisecond: the
    // outbox rounds its wake delay down, and a wake that fires early re-arms at 0 ms for ever under
    // ManualClock (bench/README.md).
    const double cpu0 = thread_cpu_ms();
    const double wall0 = wall_ms();
    for (auto& e : storm) {
      e.at = w->clock.now();
      w->engine->on_event(e);
      w->clock.advance(kSpacing);
    }
    w->drain();
    const double cpu1 = thread_cpu_ms();
    const double wall1 = wall_ms();
    const int early = w->http.sent;

    // (b) group_wait ends: each notifier's lane forms its group's message and hands it to HTTP.
    w->clock.advance(
        std::chrono::duration_cast<std::chrono::microseconds>(opened + cfg.alerts.group_wait - w->clock.now()) + 1ms);
    const double cpu2 = thread_cpu_ms();
    const double wall2 = wall_ms();
    state.SetIterationTime((wall2 - wall0) / 1e3);
    state.PauseTiming();

    if (early != 0 || w->http.sent != 3 || w->http.pending.size() != 3) {
      state.SkipWithError(("expected 3 messages after group_wait and none before, got " + std::to_string(early) +
                           " before and " + std::to_string(w->http.sent - early) + " after")
                              .c_str());
      break;
    }
    std::size_t biggest = 0;
    std::size_t members = 0;
    for (const auto& p : w->http.pending) {
      biggest = std::max(biggest, p->request.body.size());
      if (p->request.url.find("/hook/") != std::string::npos) {
        // Listed members plus those left out to keep the body within its cap: all N, counted.
        const auto group = boost::json::parse(p->request.body).at("group");
        members = group.at("members").as_array().size() + static_cast<std::size_t>(group.at("omitted").as_int64());
        if (group.at("count").as_int64() != n) {
          members = 0;
        }
      }
    }
    if (members != static_cast<std::size_t>(n)) {
      state.SkipWithError(
          ("the webhook's group message accounts for " + std::to_string(members) + " members, not " + std::to_string(n))
              .c_str());
      break;
    }

    // The receivers say 200: every member's outbox row goes (untimed; its own counter).
    const double cpu3 = thread_cpu_ms();
    while (w->http.answer(testing::FakeHttp::ok())) {
    }
    w->drain();
    ack_cpu += thread_cpu_ms() - cpu3;

    take_cpu += cpu1 - cpu0;
    take_wall += wall1 - wall0;
    flush_cpu += cpu2 - cpu1;
    flush_wall += wall2 - wall1;
    messages += w->http.sent;
    max_body = std::max(max_body, static_cast<double>(biggest));
    w.reset();
    state.ResumeTiming();
  }
  const auto avg = benchmark::Counter::kAvgIterations;
  state.counters["take_cpu_ms"] = benchmark::Counter(take_cpu, avg);
  state.counters["take_wall_ms"] = benchmark::Counter(take_wall, avg);
  state.counters["flush_cpu_ms"] = benchmark::Counter(flush_cpu, avg);
  state.counters["flush_wall_ms"] = benchmark::Counter(flush_wall, avg);
  state.counters["ack_cpu_ms"] = benchmark::Counter(ack_cpu, avg);
  state.counters["messages"] = benchmark::Counter(messages, avg);
  state.counters["max_body_B"] = max_body;
}
BENCHMARK(BM_GroupStorm)->Arg(1000)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GroupStorm)->Arg(10000)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
