// Probe result handling: the verdict (pure `evaluate`) per expectation kind, and one probe's whole
// result path (timer fire -> request -> response -> verdict -> history row queued -> state machine)
// on a FakeHttp and a ManualClock, with the real SQLite store behind it.
//   ./bench/bench_probes
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "probes/probe.hpp"
#include "support/fake_http.hpp"
#include "support/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using tend::testing::FakeHttp;
using tend::testing::ManualClock;
namespace probes = tend::probes;

probes::ProbeConfig base() {
  probes::ProbeConfig p;
  p.name = "api";
  p.url = "http://127.0.0.1:3000/health";
  p.interval = 1s;
  p.timeout = 5s;
  return p;
}

tend::http::Response response(std::string body) {
  auto r = FakeHttp::ok(200, std::move(body));
  r.headers = {{"content-type", "application/json"}, {"server", "nginx"}};
  return r;
}

void evaluate(benchmark::State& state, probes::ProbeConfig cfg, std::string body) {
  std::shared_ptr<probes::BodyRegex> regex;
  if (!cfg.expect.body_regex.empty()) {
    regex = *probes::BodyRegex::compile(cfg.expect.body_regex);
  }
  const auto resp = response(std::move(body));
  for (auto _ : state) {
    auto v = probes::evaluate(cfg, regex.get(), resp);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

const std::string kJson = R"({"status":"ok","checks":{"db":"ok","cache":"ok"},"version":"1.4.2"})";

probes::ProbeConfig with_contains() {
  auto p = base();
  p.expect.body_contains = R"("status":"ok")";
  return p;
}
probes::ProbeConfig with_regex() {
  auto p = base();
  p.expect.body_regex = R"re("status": *"(ok|fine)")re";
  return p;
}
probes::ProbeConfig with_json() {
  auto p = base();
  p.expect.json = probes::JsonExpect{"/checks/db", "ok"};
  return p;
}

// One probe's full result path per iteration: advance virtual time one interval (the timer fires
// and sends), answer the request (evaluate, history row to the store's queue, state machine).
void result_path(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / ("tend-bench-probes-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    boost::asio::io_context io;
    ManualClock clock(*tend::parse_iso8601("2026-11-21T10:00:00Z"));
    FakeHttp http;
    tend::state::Store store(io, (dir / "tend.db").string());
    store.start(clock.now());
    tend::events::Bus bus;
    std::int64_t run_id = 0;
    probes::Context ctx{clock,
                        http,
                        store,
                        bus,
                        [&run_id] { return ++run_id; },
                        [](const tend::remedies::RemedyConfig&) -> std::unique_ptr<tend::remedies::Remedy> {
                          return nullptr;  // no remedy in this benchmark
                        }};
    auto probe = std::make_shared<probes::Probe>(ctx, std::make_shared<const probes::ProbeConfig>(with_contains()));
    probe->start(tend::entries::Saved{});
    const auto ok = response(kJson);
    std::int64_t n = 0;
    for (auto _ : state) {
      clock.advance(1s);
      if (!http.answer(ok)) {
        state.SkipWithError("no request was sent");
        break;
      }
      if (++n % 1024 == 0) {
        io.poll();  // the store's completions, as the loop would run them
      }
    }
    probe->retire();
    io.poll();
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

BENCHMARK_CAPTURE(evaluate, status_only, base(), "ok");
BENCHMARK_CAPTURE(evaluate, body_contains, with_contains(), kJson);
BENCHMARK_CAPTURE(evaluate, body_regex, with_regex(), kJson);
BENCHMARK_CAPTURE(evaluate, json_path, with_json(), kJson);
BENCHMARK(result_path);
BENCHMARK_MAIN();
