// Watches: access-log parsing (combined, json, garbage), the bucketed window, the state machine
// in virtual time (min_requests, thresholds, severity changes, resolve, pause), and the follower
// on real files (start at end, partial lines, rotation both ways, a file created later).

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <filesystem>
#include <fstream>

#include "support/manual_clock.hpp"
#include "support/preconditions.hpp"
#include "watches/parse.hpp"
#include "watches/watch.hpp"

using namespace tend;
using namespace std::chrono_literals;
using tend::testing::ManualClock;
using watches::parse_combined;
using watches::parse_json;

namespace {

WallTime at(const char* iso) { return *parse_iso8601(iso); }

const char* kCombined =
    R"L(203.0.113.7 - alice [21/Nov/2026:10:00:03 +0000] "GET /api/v1/orders?id=3 HTTP/1.1" 502 157 "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)")L";

}  // namespace

TEST_CASE("combined: the status after the quoted request", "[watches][parse]") {
  CHECK(parse_combined(kCombined) == 502);
  CHECK(parse_combined(R"(::1 - - [21/Nov/2026:10:00:03 +0000] "POST /x HTTP/2.0" 200 0 "-" "curl/8")") == 200);
  CHECK(parse_combined(R"(10.0.0.1 - - [21/Nov/2026:10:00:03 +0000] "-" 400 0 "-" "-")") == 400);
  CHECK(parse_combined(R"(10.0.0.1 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.0" 499 0)") == 499);
  // common log format: no referer, no agent, status at the end of the line
  CHECK(parse_combined(R"(10.0.0.1 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.0" 503)") == 503);
  // apache escapes quotes in the request as \" and backslashes as \\.
  CHECK(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET /a\"b\\ HTTP/1.1" 500 1 "-" "x")") == 500);
  CHECK(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET /\" 200 1 \"x HTTP/1.1" 404 1 "-" "x")") ==
        404);
  // nginx with escape=none: a raw quote inside the request.
  CHECK(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET /a"b HTTP/1.1" 503 1 "-" "x")") == 503);
}

TEST_CASE("combined: garbage is not a request", "[watches][parse]") {
  CHECK_FALSE(parse_combined(""));
  CHECK_FALSE(parse_combined("hello world"));
  CHECK_FALSE(parse_combined(R"({"status": 500})"));
  CHECK_FALSE(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.1")"));
  CHECK_FALSE(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.1" abc 1)"));
  CHECK_FALSE(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.1" 5000 1)"));
  CHECK_FALSE(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.1" 099 1)"));
  CHECK_FALSE(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.1" 600 1)"));
  CHECK_FALSE(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000] "GET / HTTP/1.1 500 1)"));  // unterminated
  CHECK_FALSE(parse_combined(R"(1.2.3.4 - - [21/Nov/2026:10:00:03 +0000 "GET /" 500 1)"));
  CHECK_FALSE(parse_combined(std::string(5000, '\x01')));
}

TEST_CASE("json: the status field as number or numeric string", "[watches][parse]") {
  CHECK(parse_json(R"({"time":"2026-11-21T10:00:03+00:00","status":502,"uri":"/x"})", "status") == 502);
  CHECK(parse_json(R"({"status":"503","request":"GET / HTTP/1.1"})", "status") == 503);
  CHECK(parse_json(R"(  {"code": 200.0}  )", "code") == 200);
  CHECK(parse_json(R"({"http":{"status":404}})", "/http/status") == 404);
  CHECK(parse_json("{\"ua\":\"\xff\xfe bad utf-8\",\"status\":500}", "status") == 500);
}

TEST_CASE("json: garbage and wrong values are not requests", "[watches][parse]") {
  CHECK_FALSE(parse_json("", "status"));
  CHECK_FALSE(parse_json("not json", "status"));
  CHECK_FALSE(parse_json(R"({"status":500)", "status"));           // truncated
  CHECK_FALSE(parse_json(R"({"status":500} {"x":1})", "status"));  // two objects
  CHECK_FALSE(parse_json(R"([500])", "status"));
  CHECK_FALSE(parse_json(R"({"code":500})", "status"));
  CHECK_FALSE(parse_json(R"({"status":"5xx"})", "status"));
  CHECK_FALSE(parse_json(R"({"status":""})", "status"));
  CHECK_FALSE(parse_json(R"({"status":null})", "status"));
  CHECK_FALSE(parse_json(R"({"status":true})", "status"));
  CHECK_FALSE(parse_json(R"({"status":99})", "status"));
  CHECK_FALSE(parse_json(R"({"status":600})", "status"));
  CHECK_FALSE(parse_json(R"({"status":500.5})", "status"));
  CHECK_FALSE(parse_json(R"({"status":-500})", "status"));
  CHECK_FALSE(parse_json(R"({"status":18446744073709551615})", "status"));
  CHECK_FALSE(parse_json(std::string(20000, '['), "status"));
  CHECK_FALSE(parse_json(kCombined, "status"));
}

TEST_CASE("window: counts expire bucket by bucket", "[watches][window]") {
  watches::Window w(10s);
  CHECK(w.bucket_width() == 1s);
  CHECK(w.buckets() == 10);
  const MonoTime t0{std::chrono::hours(1000)};
  w.add(t0, 10, 1);
  w.add(t0 + 500ms, 10, 1);
  w.add(t0 + 5s, 100, 50);
  auto t = w.totals(t0 + 5s);
  CHECK(t.requests == 120);
  CHECK(t.errors == 52);
  t = w.totals(t0 + 9999ms);  // the first bucket is still inside
  CHECK(t.requests == 120);
  t = w.totals(t0 + 10s);  // ... and now it is not
  CHECK(t.requests == 100);
  CHECK(t.errors == 50);
  t = w.totals(t0 + 15s);
  CHECK(t.requests == 0);
  CHECK(t.errors == 0);
  w.add(t0 + 1h, 7, 7);  // a long gap: everything older is gone at once
  t = w.totals(t0 + 1h);
  CHECK(t.requests == 7);
  CHECK(t.errors == 7);
}

TEST_CASE("window: memory stays bounded for long windows and high rates", "[watches][window]") {
  watches::Window day(24h);
  CHECK(day.buckets() <= 600);
  CHECK(day.bucket_width() == 144s);
  watches::Window hour(1h);
  CHECK(hour.buckets() == 600);
  CHECK(hour.bucket_width() == 6s);
  watches::Window tiny(250ms);
  CHECK(tiny.buckets() == 1);
  const MonoTime t0{std::chrono::hours(1000)};
  for (int i = 0; i < 100000; ++i) {
    hour.add(t0 + std::chrono::milliseconds(i * 36), 1000, 10);  // a million requests an hour... per ms
  }
  const auto t = hour.totals(t0 + std::chrono::milliseconds(99999 * 36));
  CHECK(t.requests == 100000ULL * 1000);
  CHECK(t.errors == 100000ULL * 10);
}

namespace {

struct WatchFixture {
  WatchFixture() : clock(at("2026-11-21T10:00:00Z")) {
    bus.subscribe([this](const events::Event& e) { published.push_back(e); });
  }

  watches::WatchConfig config() const {
    auto c = watches::default_watch("be-5xx", "/nonexistent/access.log", "json");
    c.window = 60s;
    c.min_requests = 20;
    c.warning = 5;
    c.critical = 10;
    return c;
  }

  /// `n` requests of which `errors` are 5xx, as lines.
  static void feed(watches::Watch& w, int n, int errors) {
    for (int i = 0; i < n; ++i) {
      w.ingest(i < errors ? R"({"status":503})" : R"({"status":"200"})");
    }
  }

  boost::asio::io_context io;
  ManualClock clock;
  events::Bus bus;
  std::vector<events::Event> published;
  watches::Context ctx{io, clock, bus};
};

}  // namespace

TEST_CASE("watch: below min_requests the state stays ok whatever the rate", "[watches][state]") {
  WatchFixture f;
  watches::Watch w(f.ctx, std::make_shared<const watches::WatchConfig>(f.config()));
  WatchFixture::feed(w, 19, 19);
  w.evaluate();
  CHECK(w.status().state == watches::State::ok);
  CHECK(w.status().rate == 100.0);
  CHECK(f.published.empty());
  WatchFixture::feed(w, 1, 1);
  w.evaluate();
  CHECK(w.status().state == watches::State::critical);
  REQUIRE(f.published.size() == 1);
  CHECK(f.published[0].severity == events::Severity::critical);
}

TEST_CASE("watch: warning, critical, back to warning, resolved, with figures", "[watches][state]") {
  WatchFixture f;
  watches::Watch w(f.ctx, std::make_shared<const watches::WatchConfig>(f.config()));
  WatchFixture::feed(w, 100, 4);  // 4%
  w.evaluate();
  CHECK(w.status().state == watches::State::ok);
  CHECK(f.published.empty());

  f.clock.advance(1s);
  WatchFixture::feed(w, 100, 6);  // 10 of 200 = 5%: warning (at the threshold)
  w.evaluate();
  auto s = w.status();
  CHECK(s.state == watches::State::warning);
  CHECK(s.requests == 200);
  CHECK(s.errors == 10);
  CHECK(s.rate == 5.0);
  REQUIRE(f.published.size() == 1);
  const auto& warn = f.published[0];
  CHECK(warn.type == &events::types::watch_error_rate);
  CHECK(warn.status == events::Status::firing);
  CHECK(warn.severity == events::Severity::warning);
  CHECK(warn.summary == "watch be-5xx: 5% 5xx (10 of 200 requests in 1m), at or above the warning threshold 5%");
  CHECK(warn.labels.at("requests") == "200");
  CHECK(warn.labels.at("errors") == "10");
  CHECK(warn.labels.at("rate") == "5%");
  CHECK(warn.labels.at("window") == "1m");
  CHECK(warn.detail.find("requests=200 errors_5xx=10 rate=5% window=1m") != std::string::npos);

  f.clock.advance(1s);
  WatchFixture::feed(w, 100, 30);  // 40 of 300: critical, a new firing
  w.evaluate();
  CHECK(w.status().state == watches::State::critical);
  REQUIRE(f.published.size() == 2);
  CHECK(f.published[1].status == events::Status::firing);
  CHECK(f.published[1].severity == events::Severity::critical);
  CHECK(f.published[1].labels.at("threshold") == "10%");

  f.clock.advance(1s);
  WatchFixture::feed(w, 200, 0);  // 40 of 500 = 8%: back to warning is a change of severity too...
  w.evaluate();
  CHECK(w.status().state == watches::State::critical);  // ...once it has held for window/10 (6s)
  f.clock.advance(5s);
  w.evaluate();
  CHECK(w.status().state == watches::State::critical);
  f.clock.advance(1s);
  w.evaluate();
  CHECK(w.status().state == watches::State::warning);
  REQUIRE(f.published.size() == 3);
  CHECK(f.published[2].status == events::Status::firing);
  CHECK(f.published[2].severity == events::Severity::warning);

  f.clock.advance(1s);
  WatchFixture::feed(w, 500, 0);  // 40 of 1000 = 4%
  w.evaluate();
  f.clock.advance(6s);
  w.evaluate();
  CHECK(w.status().state == watches::State::ok);
  REQUIRE(f.published.size() == 4);
  CHECK(f.published[3].status == events::Status::resolved);
  CHECK(f.published[3].severity == events::Severity::warning);
  CHECK(f.published[3].summary.find("back to 4%") != std::string::npos);

  w.evaluate();  // no change, nothing new
  CHECK(f.published.size() == 4);
}

TEST_CASE("watch: the once-a-second timer expires old requests and resolves", "[watches][state]") {
  WatchFixture f;
  auto cfg = f.config();
  cfg.window = 10s;
  watches::Watch w(f.ctx, std::make_shared<const watches::WatchConfig>(cfg));
  w.start(entries::Saved{});  // the file does not exist: the follower waits; the timer runs on the manual clock
  WatchFixture::feed(w, 50, 50);
  f.clock.advance(1s);
  CHECK(w.status().state == watches::State::critical);
  CHECK(w.status().last_evaluated.has_value());
  f.clock.advance(8s);
  CHECK(w.status().state == watches::State::critical);
  f.clock.advance(2s);  // the bucket has left the window: 0 requests < min_requests...
  CHECK(w.status().requests == 0);
  CHECK(w.status().state == watches::State::critical);
  f.clock.advance(1s);  // ... and that has held for a second (window/10, at least 1s)
  CHECK(w.status().state == watches::State::ok);
  CHECK(w.status().requests == 0);
  REQUIRE(f.published.size() == 2);
  CHECK(f.published[1].status == events::Status::resolved);
  CHECK(f.published[1].severity == events::Severity::critical);
  CHECK(f.published[1].summary.find("too few requests") != std::string::npos);
  w.retire();
}

TEST_CASE("watch: a rate hovering at a threshold does not flap", "[watches][state]") {
  WatchFixture f;
  watches::Watch w(f.ctx,
                   std::make_shared<const watches::WatchConfig>(f.config()));  // 60s window: steps down after 6s below
  WatchFixture::feed(w, 100, 5);                                               // 5%: warning
  w.evaluate();
  int crossings = 0;
  for (int i = 0; i < 200; ++i) {  // 20 s of one request at a time, keeping the rate at about 5%
    f.clock.advance(100ms);
    const bool above = w.status().rate >= 5.0;
    WatchFixture::feed(w, 1, above ? 0 : 1);
    w.evaluate();
    crossings += (w.status().rate >= 5.0) != above ? 1 : 0;
  }
  CHECK(crossings >= 10);
  CHECK(w.status().state == watches::State::warning);
  CHECK(f.published.size() == 1);
}

TEST_CASE("watch: unparsed and overlong lines are counted, never requests", "[watches][state]") {
  WatchFixture f;
  watches::Watch w(f.ctx, std::make_shared<const watches::WatchConfig>(f.config()));
  w.ingest("garbage");
  w.ingest(kCombined);  // the wrong format for a json watch
  w.ingest("", true);
  w.ingest(R"({"status":500})");
  w.evaluate();
  const auto s = w.status();
  CHECK(s.unparsed == 3);
  CHECK(s.lines == 4);
  CHECK(s.requests == 1);
  CHECK(s.errors == 1);
}

TEST_CASE("watch: paused raises nothing; resume raises what is still true", "[watches][state]") {
  WatchFixture f;
  watches::Watch w(f.ctx, std::make_shared<const watches::WatchConfig>(f.config()));
  w.pause(std::nullopt);
  WatchFixture::feed(w, 100, 50);
  w.evaluate();
  CHECK(w.status().state == watches::State::critical);
  CHECK(w.status().paused);
  CHECK(f.published.empty());
  w.resume();
  REQUIRE(f.published.size() == 1);
  CHECK(f.published[0].severity == events::Severity::critical);
}

TEST_CASE("watch: reload with new thresholds re-judges at once and keeps its counts", "[watches][reload]") {
  WatchFixture f;
  auto cfg = f.config();
  watches::Watch w(f.ctx, std::make_shared<const watches::WatchConfig>(cfg));
  w.start(entries::Saved{});
  WatchFixture::feed(w, 100, 7);
  w.evaluate();
  CHECK(w.status().state == watches::State::warning);

  auto stricter = cfg;
  stricter.warning = 2;
  stricter.critical = 6;
  w.update(std::make_shared<const watches::WatchConfig>(stricter));
  CHECK(w.status().state == watches::State::critical);
  CHECK(w.status().requests == 100);
  w.retire();
}

// ---- the follower, on real files ----

namespace {

struct FollowFixture {
  FollowFixture()
      : dir(std::filesystem::temp_directory_path() /
            ("tend-follow-" + std::to_string(::getpid()) + "-" + std::to_string(counter++))),
        clock(io) {
    std::filesystem::create_directories(dir);
    path = (dir / "access.log").string();
  }
  ~FollowFixture() {
    follower.reset();
    std::filesystem::remove_all(dir);
  }
  FollowFixture(const FollowFixture&) = delete;
  FollowFixture& operator=(const FollowFixture&) = delete;

  void start() {
    follower = std::make_unique<watches::Follower>(
        io, clock, path, "test",
        [this](std::string_view line, bool overlong) { lines.push_back(overlong ? "<overlong>" : std::string(line)); },
        [this] { ++batches; });
    follower->start();
    drain();
  }

  /// Run every handler that is ready, until none is: the kernel queues inotify events as the
  /// write or rename happens, so whatever the test did before is seen by the follower — no sleep.
  void drain() {
    if (io.stopped()) {
      io.restart();
    }
    for (int idle = 0; idle < 3;) {
      idle = io.poll() == 0 ? idle + 1 : 0;
    }
  }

  void append(const std::string& text, const std::string& file = "") {
    std::ofstream out(file.empty() ? path : file, std::ios::app | std::ios::binary);
    out << text;
  }

  /// Run the loop until `n` lines arrived (or 5 s passed), then drain it: more lines than `n`
  /// (a line read twice) show up by then.
  bool wait_lines(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (lines.size() < n && std::chrono::steady_clock::now() < deadline) {
      io.run_for(10ms);
    }
    drain();
    return lines.size() == n;
  }

  std::filesystem::path dir;
  std::string path;
  boost::asio::io_context io;
  SystemClock clock;
  std::unique_ptr<watches::Follower> follower;
  std::vector<std::string> lines;
  int batches = 0;
  static inline int counter = 0;
};

}  // namespace

TEST_CASE("follower: starts at the end, buffers partial lines", "[watches][follow]") {
  FollowFixture f;
  f.append("old line 1\nold line 2\nhalf of a li");
  f.start();
  CHECK(f.follower->stats().open);
  f.append("ne\nnew 1\n");
  REQUIRE(f.wait_lines(1));
  CHECK(f.lines[0] == "new 1");  // the rest of the line we started in is not a line
  f.append("new 2 par");
  CHECK(f.wait_lines(1));
  f.append("t two\r\n\n");
  REQUIRE(f.wait_lines(2));
  CHECK(f.lines[1] == "new 2 part two");
  CHECK(f.batches > 0);
}

TEST_CASE("follower: rename-and-create rotation drains the old file and reads the new one", "[watches][follow]") {
  FollowFixture f;
  f.append("");
  f.start();
  f.append("a\nb\n");
  REQUIRE(f.wait_lines(2));
  const auto rotated = (f.dir / "access.log.1").string();
  std::filesystem::rename(f.path, rotated);
  f.append("c (still to the old file)\n", rotated);
  f.append("d (new file)\n");
  REQUIRE(f.wait_lines(4));
  CHECK(std::find(f.lines.begin(), f.lines.end(), "c (still to the old file)") != f.lines.end());
  CHECK(std::find(f.lines.begin(), f.lines.end(), "d (new file)") != f.lines.end());
  f.append("e\n");
  REQUIRE(f.wait_lines(5));
  CHECK(f.lines[4] == "e");
  CHECK(f.follower->stats().rotations == 1);
}

TEST_CASE("follower: copytruncate reads the file again from its start", "[watches][follow]") {
  FollowFixture f;
  f.append("");
  f.start();
  f.append("one\ntwo\nthree\n");
  REQUIRE(f.wait_lines(3));
  std::filesystem::resize_file(f.path, 0);
  f.append("four\n");
  REQUIRE(f.wait_lines(4));
  CHECK(f.lines[3] == "four");
  CHECK(f.follower->stats().truncations == 1);
  CHECK(f.follower->stats().offset == 5);
}

TEST_CASE("follower: a file created after start is read from its beginning", "[watches][follow]") {
  FollowFixture f;
  f.start();
  CHECK_FALSE(f.follower->stats().open);
  f.append("first\nsecond\n");
  REQUIRE(f.wait_lines(2));
  CHECK(f.lines[0] == "first");
  std::filesystem::remove(f.path);
  f.drain();  // the follower has seen the deletion before the new file appears
  f.append("again\n");
  REQUIRE(f.wait_lines(3));
  CHECK(f.lines[2] == "again");
}

TEST_CASE("follower: a line over 64 KiB counts once as overlong, the next line is fine", "[watches][follow]") {
  FollowFixture f;
  f.append("");
  f.start();
  f.append(std::string(std::size_t{200} * 1024, 'x') + "\nshort\n");
  REQUIRE(f.wait_lines(2));
  CHECK(f.lines[0] == "<overlong>");
  CHECK(f.lines[1] == "short");
}

TEST_CASE("follower: a big append is read in bounded chunks", "[watches][follow]") {
  FollowFixture f;
  f.append("");
  f.start();
  std::string block;
  for (int i = 0; i < 50000; ++i) {
    block += "line " + std::to_string(i) + "\n";
  }
  f.append(block);  // about 540 KiB: at least 9 loop turns
  REQUIRE(f.wait_lines(50000));
  CHECK(f.lines.back() == "line 49999");
  CHECK(f.batches >= 9);
}

TEST_CASE("follower: a symlink another user owns to a file it does not own is not followed",
          "[watches][follow][security]") {
  if (!tend::testing::precondition(::geteuid() == 0, "root, to give a symlink to another user")) {
    return;
  }
  FollowFixture f;
  const auto secret = (f.dir / "secret").string();
  f.append("", secret);  // owned by root, like /etc/shadow
  std::filesystem::create_symlink(secret, f.path);
  REQUIRE(::lchown(f.path.c_str(), 65534, 65534) == 0);  // the app user swapped its log for a link
  f.start();
  CHECK_FALSE(f.follower->stats().open);
  CHECK(f.follower->stats().error.find("not followed") != std::string::npos);
  f.append("root:$6$hash:19000:0:99999:7:::\n", secret);
  CHECK(f.wait_lines(0));
  // A link root owns is followed, as the kernel's protected_symlinks allows.
  const auto real_log = (f.dir / "real.log").string();
  f.append("", real_log);
  std::filesystem::remove(f.path);
  std::filesystem::create_symlink(real_log, f.path);
  f.drain();
  CHECK(f.follower->stats().open);
  f.append("a line\n", real_log);
  CHECK(f.wait_lines(1));
}
