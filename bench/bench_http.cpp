// The http clients' cost per request (issue 14): sequential GETs against a loopback server, one at
// a time as a probe sends them, with each client, with keep-alive reuse and with a fresh connection
// per request (Monit's way). CPU time is this thread's (the loop's); the server runs on its own.
//   ./bench/bench_http
#include <benchmark/benchmark.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "http/client.hpp"
#include "support/http_test_server.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

void sequential(benchmark::State& state, const std::string& kind, bool fresh) {
  tend::test::HttpTestServer server;
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  auto client = kind == "plain" ? tend::http::make_plain_client(io) : tend::http::make_curl_client(io);
  tend::http::Request req;
  req.url = server.url("/ok");
  req.timeout = 5s;
  req.fresh_connection = fresh;
  const int connections_before = server.connections();
  for (auto _ : state) {
    int status = -1;
    auto handle = client->send(req, [&status](tend::http::Response r) { status = r.status; });
    while (status < 0) {
      io.run_one();
    }
    if (status != 200) {
      state.SkipWithError("a request failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["connections"] = server.connections() - connections_before;
}

}  // namespace

BENCHMARK_CAPTURE(sequential, curl_keepalive, "curl", false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(sequential, plain_keepalive, "plain", false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(sequential, curl_fresh, "curl", true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(sequential, plain_fresh, "plain", true)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
