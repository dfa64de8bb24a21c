// Config load (YAML -> validated model) of 10,000 entries: what start-up, `tendd --check` and every
// reload pay. Text built once, outside the timing; no file system.
//   ./bench/bench_config
#include <benchmark/benchmark.h>

#include <string>

#include "config/loader.hpp"
#include "plugins/plugins.hpp"

namespace {

tend::config::Sources sources() {
  tend::config::Sources s;
  s.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  s.read_file = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  s.glob = [](const std::string&) { return std::vector<std::string>{}; };
  s.hostname = "bench";
  return s;
}

std::string daemon_section() {
  return "daemon:\n  state_dir: /tmp/tend-bench-state\n  socket: /tmp/tend-bench.sock\n  timezone: UTC\n";
}

// Flow-style one-liners, as a generator would write them.
std::string probes_yaml(int n) {
  std::string y = daemon_section() + "probes:\n";
  for (int i = 0; i < n; ++i) {
    y += "  p" + std::to_string(i) + ": {url: \"http://127.0.0.1:8080/health/" + std::to_string(i) +
         "\", interval: 1s, timeout: 5s, expect: {status: [200, \"2xx\"], body_contains: ok}}\n";
  }
  return y;
}

// Block style with nested sections, as people write jobs.
std::string jobs_yaml(int n) {
  std::string y = daemon_section() + "jobs:\n";
  for (int i = 0; i < n; ++i) {
    y += "  job" + std::to_string(i) + ":\n    schedule: \"" + std::to_string(i % 60) +
         " */2 * * *\"\n    timezone: Asia/Seoul\n    command: [/usr/bin/python3, /app/task.py, \"--n\", \"" +
         std::to_string(i) +
         "\"]\n    timeout: 5m\n    retries: {max: 3, delay: 10s, backoff: exponential}\n"
         "    env: {DJANGO_ENV: production}\n    alert_on: [failure, timeout]\n";
  }
  return y;
}

void load(benchmark::State& state, const std::string& text) {
  const auto src = sources();
  for (auto _ : state) {
    auto r = tend::config::load_text(text, "bench.yaml", src, tend::plugins::config());
    if (!r.config) {
      state.SkipWithError(r.errors.empty() ? "no config" : r.errors.front().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

void load_probes(benchmark::State& state) { load(state, probes_yaml(static_cast<int>(state.range(0)))); }
void load_jobs(benchmark::State& state) { load(state, jobs_yaml(static_cast<int>(state.range(0)))); }

}  // namespace

BENCHMARK(load_probes)->Arg(100)->Arg(10'000)->Unit(benchmark::kMillisecond);
BENCHMARK(load_jobs)->Arg(100)->Arg(10'000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
