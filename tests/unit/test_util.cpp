#include <catch.hpp>

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

#include "util/redact.hpp"

TEST_CASE("URLs are redacted to scheme and host", "[redact]") {
  CHECK(redact_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET") == "https://hooks.slack.com");
  CHECK(redact_url("https://user:pa55@example.com:8443/x?token=abc#f") == "https://example.com:8443");
  CHECK(redact_url("http://127.0.0.1:3000/health?key=s3cret") == "http://127.0.0.1:3000");
  CHECK(redact_url("not a url s3cret") == "(redacted)");
  CHECK(redact_url("https://h?token=x") == "https://h");
}
