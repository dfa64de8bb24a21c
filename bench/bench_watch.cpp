// Lines a second through a watch's hot path: parsing one access-log line (combined, json) and
// counting it into the window, as the follower hands lines over. Run a Release build:
//   cmake -S . -B /tmp/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTEND_BUILD_BENCH=ON -DTEND_BUILD_TESTS=OFF
//   ninja -C /tmp/bench bench_watch && /tmp/bench/bench/bench_watch

#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "watches/config.hpp"
#include "watches/format.hpp"
#include "watches/watch.hpp"

namespace {

using namespace tend;

/// Realistic lines: varied paths, agents and statuses, 1 in 20 a 5xx.
std::vector<std::string> lines(std::string_view format) {
  static const char* agents[] = {
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "curl/8.4.0",
      "python-requests/2.31.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"};
  std::vector<std::string> out;
  for (int i = 0; i < 1000; ++i) {
    const int status = i % 20 == 0 ? 502 : (i % 7 == 0 ? 404 : 200);
    const std::string path = "/api/v1/orders/" + std::to_string(i * 7919 % 100000) + "?page=" + std::to_string(i % 9);
    const char* agent = agents[i % 4];
    if (format == "combined") {
      out.push_back("203.0.113." + std::to_string(i % 250) + " - - [21/Nov/2026:10:00:03 +0000] \"GET " + path +
                    " HTTP/1.1\" " + std::to_string(status) + " " + std::to_string(1000 + i) +
                    " \"https://example.com/\" \"" + agent + "\"");
    } else {
      out.push_back(R"({"time":"2026-11-21T10:00:03+00:00","remote_addr":"203.0.113.)" + std::to_string(i % 250) +
                    R"(","request":"GET )" + path + R"( HTTP/1.1","status":")" + std::to_string(status) +
                    R"(","body_bytes_sent":)" + std::to_string(1000 + i) +
                    R"(,"request_time":0.012,"http_referer":"https://example.com/","http_user_agent":")" + agent +
                    R"("})");
    }
  }
  return out;
}

void parse_only(benchmark::State& state, std::string_view format) {
  const auto input = lines(format);
  const auto cfg = watches::default_watch("bench", "/nonexistent/bench.log", format);
  const auto parser = watches::find_format(format)->make(*cfg.parsing);
  std::size_t i = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto& line = input[i++ % input.size()];
    benchmark::DoNotOptimize(parser->status(line));
    bytes += line.size() + 1;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

/// What the follower drives: ingest() per line, evaluate() once per 64 KiB read (here: every
/// 300 lines, about that much), on the real clock.
void watch_path(benchmark::State& state, std::string_view format) {
  const auto input = lines(format);
  boost::asio::io_context io;
  SystemClock clock(io);
  events::Bus bus;
  watches::Context ctx{io, clock, bus};
  watches::Watch watch(ctx, std::make_shared<const watches::WatchConfig>(
                                watches::default_watch("bench", "/nonexistent/bench.log", format)));
  std::size_t i = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto& line = input[i++ % input.size()];
    watch.ingest(line);
    bytes += line.size() + 1;
    if (i % 300 == 0) {
      watch.evaluate();
    }
  }
  watch.evaluate();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["unparsed"] = static_cast<double>(watch.status().unparsed);
}

BENCHMARK_CAPTURE(parse_only, combined, "combined");
BENCHMARK_CAPTURE(parse_only, json, "json");
BENCHMARK_CAPTURE(watch_path, combined, "combined");
BENCHMARK_CAPTURE(watch_path, json, "json");

}  // namespace

BENCHMARK_MAIN();
