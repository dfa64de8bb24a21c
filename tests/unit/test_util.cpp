#include <algorithm>
#include <catch.hpp>
#include <functional>
#include <set>

#include "util/duration.hpp"
#include "util/names.hpp"
#include "util/time.hpp"

using namespace tend;
using namespace std::chrono_literals;

TEST_CASE("durations carry units", "[duration]") {
  CHECK(*parse_duration("250ms") == 250ms);
  CHECK(*parse_duration("10s") == 10s);
  CHECK(*parse_duration("5m") == 5min);
  CHECK(*parse_duration("1h30m") == 90min);
  CHECK(*parse_duration("2d") == 48h);
  CHECK(*parse_duration("1m30s500ms") == 90500ms);
}

TEST_CASE("a bare number suggests its unit", "[duration]") {
  auto d = parse_duration("300");
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().find("did you mean 300s?") != std::string::npos);
}

TEST_CASE("bad durations are rejected with the reason", "[duration]") {
  CHECK(parse_duration("").error().find("empty") != std::string::npos);
  CHECK(parse_duration("5x").error().find("unknown unit 'x'") != std::string::npos);
  CHECK(parse_duration("m5").error().find("invalid duration") != std::string::npos);
  CHECK(parse_duration("5m3").error().find("without a unit") != std::string::npos);
  CHECK(parse_duration("-5s").error().find("invalid") != std::string::npos);
  CHECK(parse_duration("99999999999999999999d").error().find("too large") != std::string::npos);
}

// Found by fuzz_request: `tend pause NAME --for 200000d` added 200,000 days to the wall clock, whose
// nanosecond count overflows past 2262 (undefined behaviour; a pause "until" 1677).
TEST_CASE("durations stop at 100 years, so that any time plus one still fits", "[duration][fuzz]") {
  CHECK(*parse_duration("36500d") == 36500 * 24h);
  CHECK(*parse_duration("36499d23h59m59s999ms") < 36500 * 24h);
  CHECK(parse_duration("36500d1ms").error().find("too large") != std::string::npos);
  CHECK(parse_duration("200000d").error().find("too large") != std::string::npos);
  CHECK(parse_duration("9000000000000000ms").error().find("too large") != std::string::npos);
  CHECK(parse_duration("1000000000000ms1000000000000ms1200000000000ms").error().find("too large") !=
        std::string::npos);                                                               // each part fine, the sum not
  const auto latest = std::chrono::system_clock::time_point{} + std::chrono::years(130);  // 2100
  CHECK(latest + *parse_duration("36500d") > latest);
}

TEST_CASE("durations format back to the config syntax", "[duration]") {
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(49h) == "2d1h");
  for (const char* s : {"1h30m", "2d", "45s", "1m1s1ms"}) {
    CHECK(format_duration(*parse_duration(s)) == s);
  }
}

TEST_CASE("names and globs", "[names]") {
  CHECK(valid_name("backup_db-1.daily"));
  CHECK_FALSE(valid_name(""));
  CHECK_FALSE(valid_name("has space"));
  CHECK_FALSE(valid_name("semi;colon"));
  CHECK(glob_match("api-*", "api-eu"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("api-*", "web-api"));
  CHECK(glob_match("*db*", "nightly-db-backup"));
}

TEST_CASE("ISO-8601 round trip", "[time]") {
  auto t = parse_iso8601("2026-11-21T10:00:03Z");
  REQUIRE(t);
  CHECK(format_iso8601(*t) == "2026-11-21T10:00:03Z");
  CHECK(format_iso8601(*parse_iso8601("2026-11-21T19:00:03+09:00")) == "2026-11-21T10:00:03Z");
  CHECK(format_iso8601(*parse_iso8601("2026-11-21")) == "2026-11-21T00:00:00Z");
  CHECK_FALSE(parse_iso8601("yesterday"));
  CHECK(from_unix_ms(to_unix_ms(*t)) == *t);
}

#include "util/lifetime.hpp"
#include "util/spread.hpp"
#include "util/text.hpp"

TEST_CASE("text from outside becomes valid UTF-8", "[text]") {
  using tend::valid_utf8;
  CHECK(valid_utf8("plain ascii") == "plain ascii");
  CHECK(valid_utf8("é ✓ 🚨") == "é ✓ 🚨");
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(valid_utf8("a\xff b") == "a" + fffd + " b");
  CHECK(valid_utf8("\xc3") == fffd);                                   // cut inside a character
  CHECK(valid_utf8("\xe2\x9c") == fffd + fffd);                        // ...two bytes of three
  CHECK(valid_utf8("\xc0\xaf") == fffd + fffd);                        // overlong '/'
  CHECK(valid_utf8("\xed\xa0\x80") == fffd + fffd + fffd);             // a UTF-16 surrogate
  CHECK(valid_utf8("\xf4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // above U+10FFFF
  // The one decoder the web pages, request targets and the metrics exposition also use.
  CHECK(tend::is_valid_utf8("é ✓ 🚨 ascii"));
  for (const char* bad : {"a\xff", "\xc3", "\xe2\x9c", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    CHECK_FALSE(tend::is_valid_utf8(bad));
  }
  CHECK(tend::utf8_length("🚨", 0) == 4);
  CHECK(tend::utf8_length("a", 0) == 1);
}

TEST_CASE("keep_tail cuts at a UTF-8 boundary and keeps the end", "[text]") {
  const std::string s = "ééééé-end";  // é is two bytes
  for (std::size_t max = 8; max < s.size(); ++max) {
    auto t = tend::keep_tail(s, max);
    INFO(max);
    CHECK(t.size() <= max);
    CHECK(t.find("-end") != std::string::npos);
    CHECK((static_cast<unsigned char>(t[std::string_view("…\n").size()]) & 0xC0U) != 0x80U);
  }
  CHECK(tend::keep_tail("short", 100) == "short");
}

TEST_CASE("head_utf8 keeps the start, whole characters, valid", "[text][fuzz]") {
  const std::string s = "ab\u00e9\u2713\U0001F6A8-end";  // 1, 1, 2, 3, 4 bytes
  for (std::size_t max = 0; max <= s.size() + 1; ++max) {
    auto h = tend::head_utf8(s, max);
    INFO(max);
    CHECK(h.size() <= max);
    CHECK(tend::valid_utf8(h) == h);
    CHECK(s.rfind(h, 0) == 0);                       // a prefix...
    CHECK(h.size() + 3 >= std::min(max, s.size()));  // ...losing at most one character's bytes
  }
  CHECK(tend::head_utf8("a\xff\xfe", 10) == "a\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(tend::head_utf8("a\xff", 3) == "a");  // no half of a U+FFFD either
}

TEST_CASE("output tails keep the last lines, whole characters", "[text]") {
  CHECK(tend::output_tail("a\nb\nc\n", 2) == "b\nc");
  CHECK(tend::output_tail("", 2).empty());
  CHECK(tend::plural(1, "run") == "1 run");
  CHECK(tend::plural(3, "run") == "3 runs");
}

TEST_CASE("a guarded callback does nothing once its owner is gone", "[lifetime]") {
  int calls = 0;
  std::function<void(int)> fn;
  {
    tend::Lifetime life;
    fn = life.guard([&calls](int n) { calls += n; });
    fn(2);
    CHECK(calls == 2);
  }
  fn(5);
  CHECK(calls == 2);
  tend::Lifetime renewed;
  auto old = renewed.guard([&calls] { ++calls; });
  renewed.renew();
  old();
  CHECK(calls == 2);
  renewed.guard([&calls] { ++calls; })();
  CHECK(calls == 3);
}

TEST_CASE("coalesce: wake-ups due within the slack share one, never early, at most the slack late", "[spread]") {
  using namespace std::chrono_literals;
  const tend::MonoTime base(std::chrono::hours(1000));  // on the 100 ms grid
  // 100 probes at 1 s, 5 ms apart (as place() separates them): 100 distinct times, 5 wake-ups.
  std::set<tend::MonoTime> wakeups;
  for (int i = 0; i < 100; ++i) {
    const auto due = base + std::chrono::milliseconds(i * 5) + 123us;
    const auto at = tend::coalesce(due, 1s);
    CHECK(at >= due);
    CHECK(at - due < 100ms);
    wakeups.insert(at);
  }
  CHECK(wakeups.size() == 5);  // 500 ms of due times on a 100 ms grid
  // On the grid already: unchanged. The slack shrinks with the interval (interval / 10).
  CHECK(tend::coalesce(base, 1s) == base);
  CHECK(tend::coalesce(base + 1ms, 300ms) == base + 30ms);
  CHECK(tend::coalesce(base + 1ms, 5ms) == base + 1ms);  // slack under 1 ms: none
  // Same amount late every period (the grid of a 1 s probe is a multiple of the slack).
  const auto first = base + 7ms;
  CHECK(tend::coalesce(first, 1s) - first == tend::coalesce(first + 1s, 1s) - (first + 1s));
}

TEST_CASE("spread: phases cover the whole interval, stable, and keep members apart", "[spread]") {
  using namespace std::chrono_literals;
  tend::Spread spread;
  const tend::Duration interval = 30s;
  std::vector<tend::Duration> offsets;
  for (int i = 0; i < 1000; ++i) {
    offsets.push_back(spread.place("probe-" + std::to_string(i), interval));
  }
  std::sort(offsets.begin(), offsets.end());
  CHECK(offsets.front() >= 0ms);
  CHECK(offsets.back() < interval);
  // The whole interval is used, not its first seconds: every 3 s slice holds some.
  for (int slice = 0; slice < 10; ++slice) {
    const auto lo = tend::Duration(slice * 3000);
    const auto n = std::count_if(offsets.begin(), offsets.end(), [&](auto o) { return o >= lo && o < lo + 3s; });
    INFO(slice);
    CHECK(n > 50);
  }
  // Separated: no two of a thousand at 30 s closer than 15 ms (interval / (2 x members)) once
  // all are placed... at least the first hundred, placed while the class was small, keep more.
  std::size_t close = 0;
  for (std::size_t i = 1; i < offsets.size(); ++i) {
    close += offsets[i] - offsets[i - 1] < 1ms ? 1 : 0;
  }
  CHECK(close == 0);
  // Stable: the same name gets the same phase, also in another Spread (another daemon start).
  tend::Spread again;
  CHECK(again.place("probe-7", interval) == tend::Spread::phase("probe-7", interval));
  CHECK(spread.place("probe-7", interval) == spread.place("probe-7", interval));
  spread.release("probe-7");
}

#include <boost/asio/io_context.hpp>
#include <cmath>
#include <string>

#include "util/lazy_library.hpp"

namespace {

/// What the tests load: libm's cos, which every test binary has mapped already (dlopen then only
/// takes a reference), and a name no system has.
struct MathApi {
  double (*cos)(double);
};

std::string resolve_cos(const tend::LazyLibrary& lib, void* handle, MathApi& api) {
  std::string error;
  lib.resolve(handle, "cos", api.cos, error);
  return error;
}

std::string resolve_missing(const tend::LazyLibrary& lib, void* handle, MathApi& api) {
  std::string error;
  lib.resolve(handle, "tend_no_such_symbol", api.cos, error);
  return error;
}

/// Run `io` until `done` or 10 s.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace

TEST_CASE("a lazy library loads on its own thread once, and every waiter hears how it went", "[lazy_library]") {
  boost::asio::io_context io;
  static auto* lib = new tend::LazyApi<MathApi>("libm.so.6", &resolve_cos);  // never destroyed, as in the daemon
  CHECK(lib->loaded() == nullptr);
  std::vector<std::string> heard;
  lib->load_async(io, [&](const std::string& e) { heard.push_back("a:" + e); });
  const auto cancelled = lib->load_async(io, [&](const std::string& e) { heard.push_back("b:" + e); });
  lib->load_async(io, [&](const std::string& e) { heard.push_back("c:" + e); });
  if (cancelled != 0) {
    lib->cancel(cancelled);
  }
  // The load may be over before the second call (libm is mapped already): that call then posted
  // its answer at once and had nothing to cancel.
  const std::vector<std::string> expected =
      cancelled != 0 ? std::vector<std::string>{"a:", "c:"} : std::vector<std::string>{"a:", "b:", "c:"};
  REQUIRE(run_until(io, [&] { return heard.size() >= expected.size(); }));
  io.restart();
  io.poll();
  std::sort(heard.begin(), heard.end());
  CHECK(heard == expected);  // a cancelled waiter is never called
  REQUIRE(lib->loaded() != nullptr);
  CHECK(lib->loaded()->cos(0.0) == 1.0);
  // Once over, a new waiter hears at once (posted, never called inside load_async).
  bool late = false;
  CHECK(lib->load_async(io, [&](const std::string& e) { late = e.empty(); }) == 0);
  CHECK_FALSE(late);
  io.restart();
  io.poll();
  CHECK(late);
}

TEST_CASE("a lazy library that cannot be loaded or lacks a symbol says which, and stays unloaded", "[lazy_library]") {
  boost::asio::io_context io;
  static auto* absent = new tend::LazyApi<MathApi>("libtend-no-such-library.so.9", &resolve_cos);
  static auto* partial = new tend::LazyApi<MathApi>("libm.so.6", &resolve_missing);
  std::string absent_error;
  std::string partial_error;
  absent->load_async(io, [&](const std::string& e) { absent_error = e; });
  partial->load_async(io, [&](const std::string& e) { partial_error = e; });
  REQUIRE(run_until(io, [&] { return !absent_error.empty() && !partial_error.empty(); }));
  CHECK(absent_error.rfind("cannot load libtend-no-such-library.so.9: ", 0) == 0);
  CHECK(partial_error == "libm.so.6 has no tend_no_such_symbol");
  CHECK(absent->loaded() == nullptr);
  CHECK(partial->loaded() == nullptr);
}
