// Cron next-fire: the pure function every job timer calls once per tick (and `tend next`).
//   ./bench/bench_schedule
#include <benchmark/benchmark.h>

#include <chrono>

#include "schedule/schedule.hpp"

namespace {

using tend::schedule::CronExpr;
using tend::schedule::Seconds;

const date::time_zone* zone(const char* name) {
  auto z = tend::schedule::find_zone(name);
  return z ? *z : nullptr;
}

// Walks forward fire after fire, so each iteration is one real next_after from the last result.
void next_fire(benchmark::State& state, const char* expr, const char* tz) {
  auto cron = CronExpr::parse(expr);
  if (!cron) {
    state.SkipWithError("parse failed");
    return;
  }
  const auto* z = zone(tz);
  Seconds t = std::chrono::floor<std::chrono::seconds>(std::chrono::sys_days{std::chrono::year{2026} / 3 / 1});
  const Seconds start = t;
  for (auto _ : state) {
    auto next = cron->next_after(t, z);
    benchmark::DoNotOptimize(next);
    t = next ? *next : start;
  }
  state.SetItemsProcessed(state.iterations());
}

void parse(benchmark::State& state, const char* expr) {
  for (auto _ : state) {
    auto cron = CronExpr::parse(expr);
    benchmark::DoNotOptimize(cron);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(next_fire, every_second_utc, "* * * * * *", "UTC");
BENCHMARK_CAPTURE(next_fire, every_5_min_utc, "*/5 * * * *", "UTC");
BENCHMARK_CAPTURE(next_fire, daily_0230_new_york, "30 2 * * *", "America/New_York");
BENCHMARK_CAPTURE(next_fire, weekdays_business_hours_seoul, "0 9-17 * * MON-FRI", "Asia/Seoul");
BENCHMARK_CAPTURE(next_fire, every_15_min_new_york, "*/15 * * * *", "America/New_York");
BENCHMARK_CAPTURE(next_fire, feb29_monday, "0 0 29 2 1", "UTC");
BENCHMARK_CAPTURE(next_fire, dom_or_dow_rule, "0 12 1,15 * FRI", "Europe/Berlin");
BENCHMARK_CAPTURE(parse, five_fields, "0 9-17/2 1,15 JAN-JUN MON-FRI");
BENCHMARK_CAPTURE(parse, six_fields, "*/10 * * * * *");
BENCHMARK_MAIN();
