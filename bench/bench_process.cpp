// What a burst of spawns costs the loop: N spawn() calls of /bin/true back to back (as N jobs due in
// the same second), then the loop runs until every child has been reported. Counters:
//   spawn_call_us   wall time of one spawn() call: how long the burst holds the loop before it can
//                   do anything else (N of them in a row)
//   loop_cpu_us     CPU time of the loop thread per child over its whole life (spawn, start
//                   delivered, output read, exit reaped, on_exit)
// Uses only the public launcher API, so the same file measures any launcher version:
//   ninja -C BUILD bench_process && BUILD/bench/bench_process --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <vector>

#include "process/launcher.hpp"

namespace {

double thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

void spawn_burst(benchmark::State& state) {
  const auto n = static_cast<int>(state.range(0));
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  auto launcher = tend::process::make_posix_launcher(io);
  tend::process::Spec spec;
  spec.argv = {"/bin/true"};
  double call_us = 0;
  double cpu_us = 0;
  int failed = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
    int done = 0;
    std::vector<std::shared_ptr<tend::process::Child>> children;
    children.reserve(static_cast<std::size_t>(n));
    const double cpu0 = thread_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      children.push_back(launcher->spawn(spec, [&](const tend::process::Result& r) {
        ++done;
        failed += r.success() ? 0 : 1;
      }));
    }
    call_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    while (done < n) {
      io.run_one_for(std::chrono::milliseconds(100));
    }
    cpu_us += thread_cpu_us() - cpu0;
  }
  const auto spawns = static_cast<double>(state.iterations()) * n;
  state.counters["spawn_call_us"] = call_us / spawns;
  state.counters["loop_cpu_us"] = cpu_us / spawns;
  state.counters["failed"] = failed;
  state.SetItemsProcessed(static_cast<std::int64_t>(spawns));
}

}  // namespace

BENCHMARK(spawn_burst)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
