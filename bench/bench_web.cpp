// The web listener's loop-time costs: one /metrics scrape (collect + render the series of
// docs/metrics.md) for 1,000 and 10,000 entries, the status page of 1,000 entries, an entry
// page over 25 h of probe results, and the status document as JSON. Each is what one request
// costs the loop today (handlers run on it). Run: ./bench/bench_web --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>
#include <date/tz.h>

#include <boost/json/serialize.hpp>

#include "metrics/exposition.hpp"
#include "metrics/process.hpp"
#include "support/web_fixture.hpp"
#include "web/pages.hpp"
#include "web/stats.hpp"

using namespace tend;

namespace {

WallTime bench_now() { return *parse_iso8601("2026-11-21T10:00:00Z"); }

void BM_metrics_scrape(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto series = test::fixture_series(n, bench_now());
  metrics::Collector c;
  std::size_t bytes = 0;
  for (auto _ : state) {
    c.clear();
    test::collect_fixture_series(series, c);
    test::collect_fixture_daemon_series(c, bench_now(), n);
    web::collect_stats(web::Stats{}, c);
    std::string out;
    out.reserve(bytes + 4096);
    c.render(out);
    metrics::Writer w(out);
    metrics::write_process_metrics(w, metrics::read_process_stats());
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["MB/s"] = benchmark::Counter(
      static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_metrics_scrape)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_metrics_render_only(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto series = test::fixture_series(n, bench_now());
  metrics::Collector c;
  test::collect_fixture_series(series, c);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    c.render(out);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_metrics_render_only)->Arg(10000)->Unit(benchmark::kMillisecond);

// What the loop pays when /metrics renders off the loop (web::SharedRender): a copy of every
// entry's figures. The formatting itself (BM_metrics_scrape) then runs on the worker.
void BM_metrics_snapshot(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto series = test::fixture_series(n, bench_now());
  for (auto _ : state) {
    auto copy = series;
    benchmark::DoNotOptimize(copy.jobs.data());
  }
}
BENCHMARK(BM_metrics_snapshot)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// The same for the status page: a copy of the status document (the daemon builds a fresh one and
// moves it, so this is an upper bound).
void BM_status_snapshot(benchmark::State& state) {
  const auto status = test::fixture_status(static_cast<std::size_t>(state.range(0)), bench_now());
  for (auto _ : state) {
    auto copy = status;
    benchmark::DoNotOptimize(copy.size());
  }
}
BENCHMARK(BM_status_snapshot)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_status_page(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto status = test::fixture_status(n, bench_now());
  const web::PageContext ctx{bench_now(), date::locate_zone("Asia/Seoul"), std::chrono::seconds(15)};
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto page = web::status_page(status, ctx);
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_status_page)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_entry_page_probe(benchmark::State& state) {
  const auto status = test::fixture_status(20, bench_now());
  const auto& entry = status.at("entries").as_array()[18].as_object();  // a failing probe
  const auto runs = test::fixture_history(entry, bench_now());
  const std::string name(entry.at("name").as_string());
  const web::PageContext ctx{bench_now(), date::locate_zone("Asia/Seoul"), std::chrono::seconds(15)};
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto page = web::entry_page(status, name, runs, ctx);
    bytes = page->size();
    benchmark::DoNotOptimize(page->data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["records"] = static_cast<double>(runs.size());
}
BENCHMARK(BM_entry_page_probe)->Unit(benchmark::kMillisecond);

void BM_status_json(benchmark::State& state) {
  const auto status = test::fixture_status(static_cast<std::size_t>(state.range(0)), bench_now());
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto text = boost::json::serialize(status);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_status_json)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();
