// The Prometheus text writer, histograms, the loop-lag timer and the /proc readers. promtool
// checks the rendered text in tests/integration/test_web.py; here the exact text is pinned.

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "metrics/exposition.hpp"
#include "metrics/loop_lag.hpp"
#include "metrics/process.hpp"
#include "support/manual_clock.hpp"
#include "util/clock.hpp"

using namespace tend;
using namespace tend::metrics;
using namespace std::chrono_literals;

TEST_CASE("counters and gauges render with HELP, TYPE and labels", "[metrics]") {
  std::string out;
  Writer w(out);
  w.family("tend_job_runs_total", "Job runs by outcome.", Type::counter, {"name", "outcome"});
  w.sample({"backup", "success"}, 12);
  w.sample({"backup", "failure"}, std::uint64_t{3});
  w.family("tend_daemon_start_time_seconds", "Start.", Type::gauge);
  w.sample({}, 1700000000.0);
  w.family("tend_probe_latency_last_seconds", "Latency.", Type::gauge, {"name"});
  w.sample({"api"}, 0.125);
  CHECK(out ==
        "# HELP tend_job_runs_total Job runs by outcome.\n"
        "# TYPE tend_job_runs_total counter\n"
        "tend_job_runs_total{name=\"backup\",outcome=\"success\"} 12\n"
        "tend_job_runs_total{name=\"backup\",outcome=\"failure\"} 3\n"
        "# HELP tend_daemon_start_time_seconds Start.\n"
        "# TYPE tend_daemon_start_time_seconds gauge\n"
        "tend_daemon_start_time_seconds 1700000000\n"
        "# HELP tend_probe_latency_last_seconds Latency.\n"
        "# TYPE tend_probe_latency_last_seconds gauge\n"
        "tend_probe_latency_last_seconds{name=\"api\"} 0.125\n");
  CHECK(w.families() == 3);
}

TEST_CASE("special values and large numbers", "[metrics]") {
  std::string out;
  Writer w(out);
  w.family("g", "x", Type::gauge, {"k"});
  w.sample({"nan"}, std::nan(""));
  w.sample({"inf"}, std::numeric_limits<double>::infinity());
  w.sample({"-inf"}, -std::numeric_limits<double>::infinity());
  w.sample({"big"}, 1e20);
  w.sample({"neg"}, -2.5);
  w.sample({"i64"}, std::int64_t{-7});
  CHECK(out.find("g{k=\"nan\"} NaN\n") != std::string::npos);
  CHECK(out.find("g{k=\"inf\"} +Inf\n") != std::string::npos);
  CHECK(out.find("g{k=\"-inf\"} -Inf\n") != std::string::npos);
  CHECK(out.find("g{k=\"big\"} 1e+20\n") != std::string::npos);
  CHECK(out.find("g{k=\"neg\"} -2.5\n") != std::string::npos);
  CHECK(out.find("g{k=\"i64\"} -7\n") != std::string::npos);
}

TEST_CASE("label values and help texts are escaped; invalid UTF-8 becomes U+FFFD", "[metrics]") {
  std::string out;
  Writer w(out);
  w.family("g", "a \\ back\nslash", Type::gauge, {"v"});
  w.sample({"q\"uo\\te\nnl"}, 1);
  w.sample({"caf\xC3\xA9"}, 2);
  w.sample({"bad\xFF\xC3"}, 3);
  w.sample({"\xED\xA0\x80"}, 4);  // a UTF-16 surrogate encoded as UTF-8 is not valid UTF-8
  CHECK(out.find("# HELP g a \\\\ back\\nslash\n") != std::string::npos);
  CHECK(out.find("g{v=\"q\\\"uo\\\\te\\nnl\"} 1\n") != std::string::npos);
  CHECK(out.find("g{v=\"caf\xC3\xA9\"} 2\n") != std::string::npos);
  CHECK(out.find("g{v=\"bad\xEF\xBF\xBD\xEF\xBF\xBD\"} 3\n") != std::string::npos);
  CHECK(out.find("g{v=\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"} 4\n") != std::string::npos);
}

TEST_CASE("histograms render cumulative buckets, sum and count", "[metrics]") {
  auto buckets = std::make_shared<const Buckets>(std::vector<double>{0.1, 1, 10});
  Histogram h(buckets);
  for (double v : {0.05, 0.1, 0.5, 2.0, 50.0}) {
    h.observe(v);
  }
  h.observe(std::nan(""));
  CHECK(h.count() == 5);
  std::string out;
  Writer w(out);
  w.family("tend_job_run_duration_seconds", "Run durations.", Type::histogram, {"name"});
  w.histogram({"backup"}, h);
  w.family("tend_loop_lag_seconds", "Lag.", Type::histogram);
  w.histogram({}, h);
  CHECK(out ==
        "# HELP tend_job_run_duration_seconds Run durations.\n"
        "# TYPE tend_job_run_duration_seconds histogram\n"
        "tend_job_run_duration_seconds_bucket{name=\"backup\",le=\"0.1\"} 2\n"
        "tend_job_run_duration_seconds_bucket{name=\"backup\",le=\"1\"} 3\n"
        "tend_job_run_duration_seconds_bucket{name=\"backup\",le=\"10\"} 4\n"
        "tend_job_run_duration_seconds_bucket{name=\"backup\",le=\"+Inf\"} 5\n"
        "tend_job_run_duration_seconds_sum{name=\"backup\"} 52.65\n"
        "tend_job_run_duration_seconds_count{name=\"backup\"} 5\n"
        "# HELP tend_loop_lag_seconds Lag.\n"
        "# TYPE tend_loop_lag_seconds histogram\n"
        "tend_loop_lag_seconds_bucket{le=\"0.1\"} 2\n"
        "tend_loop_lag_seconds_bucket{le=\"1\"} 3\n"
        "tend_loop_lag_seconds_bucket{le=\"10\"} 4\n"
        "tend_loop_lag_seconds_bucket{le=\"+Inf\"} 5\n"
        "tend_loop_lag_seconds_sum 52.65\n"
        "tend_loop_lag_seconds_count 5\n");
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.sum() == 0);
}

TEST_CASE("standard bucket sets are increasing and in base units", "[metrics]") {
  for (const auto& b : {latency_buckets(), duration_buckets(), lag_buckets()}) {
    CHECK(b->le().back() == "+Inf");
    CHECK(b->le().size() == b->bounds().size() + 1);
  }
  CHECK(latency_buckets()->le().front() == "0.005");
  CHECK(lag_buckets()->le().front() == "0.0001");
  CHECK_THROWS_AS(Buckets({}), std::invalid_argument);
  CHECK_THROWS_AS(Buckets({1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(Buckets({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
}

TEST_CASE("names that break the format or the conventions are refused", "[metrics]") {
  std::string out;
  Writer w(out);
  CHECK_THROWS_AS(w.family("tend_runs", "x", Type::counter), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_up_total", "x", Type::gauge), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_x_count", "x", Type::gauge), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_x_bucket", "x", Type::histogram), std::invalid_argument);
  CHECK_THROWS_AS(w.family("9tend", "x", Type::gauge), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend-x", "x", Type::gauge), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_x", "", Type::gauge), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_x", "x", Type::gauge, {"__name"}), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_x", "x", Type::gauge, {"a:b"}), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_x", "x", Type::gauge, {"name", "name"}), std::invalid_argument);
  CHECK_THROWS_AS(w.family("tend_h", "x", Type::histogram, {"le"}), std::invalid_argument);
  CHECK(out.empty());
  CHECK_THROWS_AS(w.sample({}, 1.0), std::logic_error);  // no family yet

  w.family("tend_h", "x", Type::histogram, {"name"});
  CHECK_THROWS_AS(w.sample({"a"}, 1.0), std::logic_error);  // a histogram takes histogram()
  CHECK_THROWS_AS(w.family("tend_h", "x", Type::gauge), std::logic_error);
  CHECK_THROWS_AS(w.family("tend_h_sum", "x", Type::gauge), std::invalid_argument);
  w.family("tend_g", "x", Type::gauge, {"name"});
  CHECK_THROWS_AS(w.sample({"a", "b"}, 1.0), std::logic_error);
  CHECK_THROWS_AS(w.histogram({"a"}, Histogram(lag_buckets())), std::logic_error);
}

TEST_CASE("a collector takes samples entry by entry and renders them family by family", "[metrics]") {
  Collector c;
  for (const char* name : {"a", "b"}) {
    c.family("tend_probe_up", "Up.", Type::gauge, {"name"}).sample({name}, 1);
    Histogram h(latency_buckets());
    h.observe(0.02);
    c.family("tend_probe_latency_seconds", "Latency.", Type::histogram, {"name"}).histogram({name}, h);
  }
  c.family("tend_unused", "Never sampled.", Type::gauge);
  std::string out;
  c.render(out);
  const auto up = out.find("# TYPE tend_probe_up gauge\ntend_probe_up{name=\"a\"} 1\ntend_probe_up{name=\"b\"} 1\n");
  const auto lat = out.find("# TYPE tend_probe_latency_seconds histogram\n");
  CHECK(up != std::string::npos);
  CHECK(lat != std::string::npos);
  CHECK(up < lat);
  CHECK(out.find("tend_probe_latency_seconds_count{name=\"b\"} 1\n") != std::string::npos);
  CHECK(out.find("tend_unused") == std::string::npos);
  CHECK_THROWS_AS(c.family("tend_probe_up", "Up.", Type::gauge, {"kind"}), std::logic_error);
  CHECK_THROWS_AS(c.family("tend_probe_up", "Up.", Type::counter, {"name"}), std::logic_error);
  CHECK_THROWS_AS(c.family("tend_probe_latency_seconds_sum", "x", Type::counter), std::invalid_argument);
  c.clear();
  std::string again;
  c.render(again);
  CHECK(again.empty());
  c.family("tend_probe_up", "Up.", Type::gauge, {"name"}).sample({"c"}, 0);
  c.render(again);
  CHECK(again == "# HELP tend_probe_up Up.\n# TYPE tend_probe_up gauge\ntend_probe_up{name=\"c\"} 0\n");
}

TEST_CASE("loop lag records how late timers fire", "[metrics]") {
  SECTION("a virtual clock fires on time: zero lag") {
    testing::ManualClock clock(WallTime{});
    LoopLag lag(clock, 100ms);
    lag.start();
    clock.advance(1050ms);
    CHECK(lag.histogram().count() == 10);
    CHECK(lag.histogram().sum() == 0);
    lag.stop();
    clock.advance(1s);
    CHECK(lag.histogram().count() == 10);
    CHECK(clock.pending() == 0);
  }
  SECTION("a real loop blocked by a slow handler") {
    boost::asio::io_context io;
    SystemClock clock(io);
    LoopLag lag(clock, 20ms);
    lag.start();
    // Block the loop for 150 ms once the first beat has fired: the next beat is ≥ 100 ms late.
    bool blocked = false;
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until && lag.histogram().count() < 4) {
      io.run_for(10ms);
      if (!blocked && lag.histogram().count() >= 1) {
        blocked = true;
        boost::asio::post(io, [] { std::this_thread::sleep_for(150ms); });
      }
    }
    REQUIRE(lag.histogram().count() >= 4);
    const auto& b = lag.histogram().buckets();
    const auto counts = lag.histogram().counts();
    std::uint64_t at_least_100ms = 0;
    for (std::size_t i = b.index(0.1); i < counts.size(); ++i) {
      at_least_100ms += counts[i];
    }
    CHECK(at_least_100ms >= 1);
    CHECK(lag.histogram().sum() >= 0.1);
    std::string out;
    Writer w(out);
    lag.write(w);
    CHECK(out.find("# TYPE tend_loop_lag_seconds histogram\n") != std::string::npos);
    CHECK(out.find("tend_loop_lag_seconds_count ") != std::string::npos);
  }
}

TEST_CASE("process figures come from /proc/self", "[metrics]") {
  const auto before = read_process_stats();
  REQUIRE(before.open_fds);
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const auto after = read_process_stats();
  ::close(fd);
  CHECK(*after.open_fds == *before.open_fds + 1);
  REQUIRE(after.resident_bytes);
  CHECK(*after.resident_bytes > 1024 * 1024);
  REQUIRE(after.start_time_seconds);
  const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(*after.start_time_seconds <= now + 1);
  CHECK(*after.start_time_seconds > now - 3600);
  REQUIRE(after.cpu_seconds);
  CHECK(*after.cpu_seconds >= 0);
  std::string out;
  Writer w(out);
  write_process_metrics(w, after);
  CHECK(out.find("# TYPE tend_process_open_fds gauge\ntend_process_open_fds ") != std::string::npos);
  CHECK(out.find("# TYPE tend_process_cpu_seconds_total counter\n") != std::string::npos);
  CHECK(out.find("tend_process_resident_memory_bytes ") != std::string::npos);
  CHECK(out.find("tend_process_start_time_seconds ") != std::string::npos);
}
