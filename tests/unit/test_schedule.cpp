// Schedules: cron parsing, next fire times (UTC and across DST in several zones), zones, output.
//
// Transition instants used below were checked with `zdump -v -c 2026,2027 ZONE`:
//   America/New_York     2026-03-08T07:00:00Z  01:59:59 EST (-5) -> 03:00:00 EDT (-4)   local 02:00-03:00 skipped
//                        2026-11-01T06:00:00Z  01:59:59 EDT (-4) -> 01:00:00 EST (-5)   local 01:00-02:00 repeated
//   America/Los_Angeles  2026-03-08T10:00:00Z  01:59:59 PST (-8) -> 03:00:00 PDT (-7)
//   Europe/Berlin        2026-03-29T01:00:00Z  01:59:59 CET (+1) -> 03:00:00 CEST (+2)  local 02:00-03:00 skipped
//                        2026-10-25T01:00:00Z  02:59:59 CEST     -> 02:00:00 CET        local 02:00-03:00 repeated
//   Europe/London        2026-03-29T01:00:00Z  00:59:59 GMT (0)  -> 02:00:00 BST (+1)   local 01:00-02:00 skipped
//                        2026-10-25T01:00:00Z  01:59:59 BST      -> 01:00:00 GMT        local 01:00-02:00 repeated
//   Australia/Lord_Howe  2026-04-04T15:00:00Z  01:59:59 +11      -> 01:30:00 +1030      local 01:30-02:00 repeated
//                        2026-10-03T15:30:00Z  01:59:59 +1030    -> 02:30:00 +11        local 02:00-02:30 skipped
//   Asia/Seoul           no transitions (+09:00)

#include <date/date.h>
#include <date/tz.h>

#include <catch.hpp>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "schedule/schedule.hpp"
#include "util/time.hpp"

using tend::schedule::CronExpr;
using tend::schedule::Every;
using tend::schedule::Reboot;
using tend::schedule::Schedule;
using tend::schedule::Seconds;

namespace {

Seconds at(const std::string& iso) {
  const auto t = tend::parse_iso8601(iso);
  INFO("bad instant in test: " << iso);
  REQUIRE(t.has_value());
  return std::chrono::floor<std::chrono::seconds>(*t);
}

std::string iso(Seconds t) { return tend::format_iso8601(t); }

const date::time_zone* zone(const std::string& name) {
  const auto z = tend::schedule::find_zone(name);
  INFO(name);
  REQUIRE(z.ok());
  return *z;
}

CronExpr cron(const std::string& text) {
  const auto e = CronExpr::parse(text);
  INFO(text << " -> " << (e.ok() ? std::string() : e.error()));
  REQUIRE(e.ok());
  return *e;
}

std::string parse_error(const std::string& text) {
  const auto s = tend::schedule::parse_schedule(text, nullptr);
  INFO("expected an error for '" << text << "'");
  REQUIRE_FALSE(s.ok());
  return s.error();
}

/// The first `n` fire times of `text` in `zone_name` ("" = UTC, i.e. nullptr) after `from`.
std::vector<std::string> fires(const std::string& text, const std::string& zone_name, const std::string& from, int n) {
  const auto s = tend::schedule::parse_schedule(text, zone_name.empty() ? nullptr : zone(zone_name));
  INFO(text << " -> " << (s.ok() ? std::string() : s.error()));
  REQUIRE(s.ok());
  std::vector<std::string> out;
  Seconds t = at(from);
  for (int i = 0; i < n; ++i) {
    const auto next = s->next_after(t);
    if (!next) {
      out.emplace_back("none");
      break;
    }
    CHECK(*next > t);
    out.push_back(iso(*next));
    t = *next;
  }
  return out;
}

std::string next(const std::string& text, const std::string& zone_name, const std::string& from) {
  return fires(text, zone_name, from, 1).front();
}

template <class T>
T bits(std::initializer_list<int> values) {
  std::uint64_t b = 0;
  for (int v : values) {
    b |= std::uint64_t{1} << static_cast<unsigned>(v);
  }
  return static_cast<T>(b);
}

template <class T>
T bit_range(int low, int high) {
  std::uint64_t b = 0;
  for (int v = low; v <= high; ++v) {
    b |= std::uint64_t{1} << static_cast<unsigned>(v);
  }
  return static_cast<T>(b);
}

bool has(std::uint64_t mask, long long v) { return ((mask >> static_cast<unsigned>(v)) & 1U) != 0; }

/// Independent reference: does the wall time `local` match `e` (cron(5) day rule included)?
bool matches_local(const CronExpr& e, date::local_seconds local) {
  const auto day = std::chrono::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const auto tod = local - day;
  const bool dom = has(e.days, static_cast<unsigned>(ymd.day()));
  const bool dow = has(e.weekdays, date::weekday{day}.c_encoding());
  const bool day_ok = (e.dom_star || e.dow_star) ? (dom && dow) : (dom || dow);
  return has(e.months, static_cast<unsigned>(ymd.month())) && day_ok && has(e.hours, tod.count() / 3600) &&
         has(e.minutes, tod.count() / 60 % 60) && has(e.seconds, tod.count() % 60);
}

date::local_seconds local_of(Seconds t, const date::time_zone* z) {
  const auto offset = z != nullptr ? z->get_info(t).offset : std::chrono::seconds{0};
  return date::local_seconds{(t + offset).time_since_epoch()};
}

/// Independent reference for SPEC's DST rules at minute resolution: does real minute `t` fire?
bool fires_at(const CronExpr& e, Seconds t, const date::time_zone* z) {
  const auto local = local_of(t, z);
  if (e.hour_star) {
    return matches_local(e, local);
  }
  const date::local_info li = z->get_info(local);
  const bool first_occurrence =
      li.result != date::local_info::ambiguous || Seconds{local.time_since_epoch()} - li.first.offset == t;
  if (matches_local(e, local) && first_occurrence) {
    return true;
  }
  // At the end of a spring-forward gap, fire if any skipped wall time would have.
  const date::sys_info now = z->get_info(t);
  if (now.begin != t) {
    return false;
  }
  const date::sys_info before = z->get_info(t - std::chrono::seconds{1});
  for (auto m = date::local_seconds{(t + before.offset).time_since_epoch()}; m < local; m += std::chrono::minutes{1}) {
    if (matches_local(e, m)) {
      return true;
    }
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parsing

TEST_CASE("five-field expression fills the bit sets", "[schedule][parse]") {
  const CronExpr e = cron("5 4 * * *");
  CHECK_FALSE(e.has_seconds_field());
  CHECK(e.seconds == bits<std::uint64_t>({0}));  // implied second 0
  CHECK(e.minutes == bits<std::uint64_t>({5}));
  CHECK(e.hours == bits<std::uint32_t>({4}));
  CHECK(e.days == bit_range<std::uint32_t>(1, 31));
  CHECK(e.months == bit_range<std::uint16_t>(1, 12));
  CHECK(e.weekdays == bit_range<std::uint8_t>(0, 6));
  CHECK(e.dom_star);
  CHECK(e.dow_star);
  CHECK_FALSE(e.hour_star);
}

TEST_CASE("six-field expression has a leading seconds field", "[schedule][parse]") {
  const CronExpr e = cron("*/20 0 12 * * *");
  CHECK(e.has_seconds_field());
  CHECK(e.seconds == bits<std::uint64_t>({0, 20, 40}));
  CHECK(e.minutes == bits<std::uint64_t>({0}));
  CHECK(e.hours == bits<std::uint32_t>({12}));
  CHECK_FALSE(e.hour_star);
}

TEST_CASE("ranges, lists and steps", "[schedule][parse]") {
  const CronExpr e = cron("1-5,10,50-59/3 */6 1-31/10 */4 *");
  CHECK(e.minutes == bits<std::uint64_t>({1, 2, 3, 4, 5, 10, 50, 53, 56, 59}));
  CHECK(e.hours == bits<std::uint32_t>({0, 6, 12, 18}));
  CHECK(e.days == bits<std::uint32_t>({1, 11, 21, 31}));
  CHECK(e.months == bits<std::uint16_t>({1, 5, 9}));
  // N/STEP runs from N to the field's maximum.
  CHECK(cron("5/15 * * * *").minutes == bits<std::uint64_t>({5, 20, 35, 50}));
  CHECK(cron("0 20/3 * * *").hours == bits<std::uint32_t>({20, 23}));
  // A step larger than the range keeps only the start.
  CHECK(cron("0 3-5/100 * * *").hours == bits<std::uint32_t>({3}));
  CHECK(cron("0 0 * * 1-5").weekdays == bit_range<std::uint8_t>(1, 5));
}

TEST_CASE("month and weekday names are case-insensitive; 7 is Sunday", "[schedule][parse]") {
  const CronExpr e = cron("0 0 * jan-MAR,Dec mon-fri");
  CHECK(e.months == bits<std::uint16_t>({1, 2, 3, 12}));
  CHECK(e.weekdays == bit_range<std::uint8_t>(1, 5));
  CHECK(cron("0 0 * * SUN").weekdays == bits<std::uint8_t>({0}));
  CHECK(cron("0 0 * * 7").weekdays == bits<std::uint8_t>({0}));
  CHECK(cron("0 0 * * 0,7").weekdays == bits<std::uint8_t>({0}));
  CHECK(cron("0 0 * * 5-7").weekdays == bits<std::uint8_t>({0, 5, 6}));
  CHECK(cron("0 0 * * FRI-SUN").weekdays == bits<std::uint8_t>({0, 5, 6}));
  CHECK(cron("0 0 * * Sun-Sat").weekdays == bit_range<std::uint8_t>(0, 6));
  CHECK(cron("0 0 * * */2").weekdays == bits<std::uint8_t>({0, 2, 4, 6}));
  CHECK(cron("0 0 * feb/5 *").months == bits<std::uint16_t>({2, 7, 12}));
}

TEST_CASE("fields that begin with * are recorded", "[schedule][parse]") {
  const CronExpr restricted = cron("0 1 13 * MON");
  CHECK_FALSE(restricted.hour_star);
  CHECK_FALSE(restricted.dom_star);
  CHECK_FALSE(restricted.dow_star);
  // `*/N` still begins with `*`, which is what cron(5)'s day rule and the DST rule look at.
  const CronExpr stepped = cron("0 */2 */3 * */2");
  CHECK(stepped.hour_star);
  CHECK(stepped.dom_star);
  CHECK(stepped.dow_star);
  CHECK(cron("0 0 0 * * *").hour_star == false);
  CHECK(cron("0 0 * * * *").hour_star == true);  // 6-field: the hour is the third word
}

TEST_CASE("macros expand to their five-field equivalents", "[schedule][parse]") {
  const auto same = [](const std::string& macro, const std::string& fields) {
    const CronExpr a = cron(macro);
    const CronExpr b = cron(fields);
    INFO(macro << " vs " << fields);
    CHECK(a.seconds == b.seconds);
    CHECK(a.minutes == b.minutes);
    CHECK(a.hours == b.hours);
    CHECK(a.days == b.days);
    CHECK(a.months == b.months);
    CHECK(a.weekdays == b.weekdays);
    CHECK(a.dom_star == b.dom_star);
    CHECK(a.dow_star == b.dow_star);
    CHECK(a.hour_star == b.hour_star);
  };
  same("@yearly", "0 0 1 1 *");
  same("@annually", "0 0 1 1 *");
  same("@monthly", "0 0 1 * *");
  same("@weekly", "0 0 * * 0");
  same("@daily", "0 0 * * *");
  same("@midnight", "0 0 * * *");
  same("@hourly", "0 * * * *");
  same("  @DAILY\t", "0 0 * * *");
  CHECK(cron("@hourly").hour_star);
  CHECK(cron("@yearly").days == bits<std::uint32_t>({1}));
}

TEST_CASE("parse_schedule: @every, @reboot, cron", "[schedule][parse]") {
  const auto every = tend::schedule::parse_schedule("@every 10m", nullptr);
  REQUIRE(every.ok());
  REQUIRE(std::holds_alternative<Every>(every->kind));
  CHECK(std::get<Every>(every->kind).interval == std::chrono::minutes{10});
  CHECK(std::get<Every>(tend::schedule::parse_schedule("@every 1h30m", nullptr)->kind).interval ==
        std::chrono::minutes{90});
  CHECK_FALSE(every->next_after(at("2026-01-01T00:00:00Z")).has_value());

  const auto reboot = tend::schedule::parse_schedule("@reboot", nullptr);
  REQUIRE(reboot.ok());
  CHECK(std::holds_alternative<Reboot>(reboot->kind));
  CHECK_FALSE(reboot->next_after(at("2026-01-01T00:00:00Z")).has_value());

  const auto* seoul = zone("Asia/Seoul");
  const auto daily = tend::schedule::parse_schedule("0 9 * * *", seoul);
  REQUIRE(daily.ok());
  CHECK(std::holds_alternative<CronExpr>(daily->kind));
  CHECK(daily->zone == seoul);
  // 09:00 KST is 00:00Z: the schedule's own zone is used.
  CHECK(iso(*daily->next_after(at("2026-05-01T12:00:00Z"))) == "2026-05-02T00:00:00Z");
}

TEST_CASE("whitespace is tolerated and the stored text is canonical", "[schedule][parse]") {
  const auto a = tend::schedule::parse_schedule("  \t0\t 0  * *   *  \n", nullptr);
  REQUIRE(a.ok());
  CHECK(a->text == "0 0 * * *");
  const auto b = tend::schedule::parse_schedule("0 0 * * *", nullptr);
  REQUIRE(b.ok());
  CHECK(*a == *b);
  CHECK_FALSE(*a == *tend::schedule::parse_schedule("0 0 * * *", zone("Asia/Seoul")));
  CHECK(tend::schedule::parse_schedule("@every   5m ", nullptr)->text == "@every 5m");
}

TEST_CASE("errors name the field and the value", "[schedule][parse][errors]") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"0 24 * * *", "hour field: 24 is out of range 0-23"},
      {"60 * * * *", "minute field: 60 is out of range 0-59"},
      {"60 * * * * *", "second field: 60 is out of range 0-59"},
      {"* * 0 * *", "day-of-month field: 0 is out of range 1-31"},
      {"* * 32 * *", "day-of-month field: 32 is out of range 1-31"},
      {"* * * 13 *", "month field: 13 is out of range 1-12"},
      {"* * * * 8", "day-of-week field: 8 is out of range 0-7"},
      {"99999999999999999999 * * * *", "minute field: 99999999999999999999 is out of range 0-59"},
      {"* * * *", "expected 5 or 6 fields, got 4"},
      {"* * * * * * *", "expected 5 or 6 fields, got 7"},
      {"@sometimes", "unknown macro @sometimes"},
      {"@daily now", "@daily takes no arguments"},
      {"*/0 * * * *", "step 0 in minute field"},
      {"0 1-5/0 * * *", "step 0 in hour field"},
      {"0 0 * * FOO", "day-of-week field: unknown name FOO"},
      {"0 0 * Foo *", "month field: unknown name Foo"},
      {"0 0 * * MONDAY", "day-of-week field: unknown name MONDAY"},
      {"0 abc * * *", "hour field: abc is not a number"},
      {"0 5-1 * * *", "hour field: range 5-1 runs backwards"},
      {"0 0 * * FRI-MON", "day-of-week field: range FRI-MON runs backwards"},
      {"0 1,,2 * * *", "hour field: empty list entry"},
      {"0 1, * * *", "hour field: empty list entry"},
      {"0 1- * * *", "hour field: missing value"},
      {"0 /5 * * *", "hour field: missing value before the step"},
      {"0 */x * * *", "hour field: invalid step x"},
      {"0 1a * * *", "hour field: invalid value 1a"},
      {"0 -1 * * *", "hour field: missing value"},
      {"0 ? * * *", "hour field: invalid value ?"},
      {"0 0 L * *", "day-of-month field: L is not a number"},
      {"@every", "@every needs exactly one duration"},
      {"@every 10", "@every: "},
      {"@every 0s", "@every: interval must be greater than zero"},
      {"@every 5m 3s", "@every needs exactly one duration"},
      {"@reboot now", "@reboot takes no arguments"},
      {"", "empty schedule"},
      {" \t\n ", "empty schedule"},
  };
  for (const Case& c : cases) {
    const std::string error = parse_error(c.text);
    INFO("'" << c.text << "' -> " << error);
    CHECK(error.find(c.message) != std::string::npos);
  }
}

TEST_CASE("CronExpr::parse refuses the non-calendar macros", "[schedule][parse][errors]") {
  CHECK_FALSE(CronExpr::parse("@every 5m").ok());
  CHECK_FALSE(CronExpr::parse("@reboot").ok());
}

TEST_CASE("errors never carry raw control bytes or unbounded input", "[schedule][parse][errors]") {
  const std::string with_nul("0 0\0 * * *", 10);
  const std::string nul_error = parse_error(with_nul);
  CHECK(nul_error.find('\0') == std::string::npos);
  CHECK(nul_error.find("\\x00") != std::string::npos);
  const std::string escape_error = parse_error("0 0 * \x1b[31m *");
  CHECK(escape_error.find('\x1b') == std::string::npos);
  const std::string long_error = parse_error("0 " + std::string(100'000, '7') + " * * *");
  CHECK(long_error.size() < 200);
}

TEST_CASE("expressions that can never fire are rejected", "[schedule][parse][errors]") {
  CHECK(parse_error("0 0 30 2 *").find("never fires") != std::string::npos);
  CHECK(parse_error("0 0 31 4,6,9,11 *").find("never fires") != std::string::npos);
  CHECK(parse_error("0 0 0 31 2 *").find("never fires") != std::string::npos);
  CHECK(parse_error("0 0 30,31 feb *").find("day-of-month 30,31") != std::string::npos);
  // With dow `*` (or starting with `*`) both must match, and Feb 30 never exists.
  CHECK(parse_error("0 0 30 2 */2").find("never fires") != std::string::npos);
  CHECK(tend::schedule::parse_schedule("0 0 29 2 *", nullptr).ok());  // leap years
  CHECK(tend::schedule::parse_schedule("0 0 31 4,6,9,11,12 *", nullptr).ok());
  // Both day fields restricted: cron(5)'s OR rule fires on every February Monday.
  CHECK(tend::schedule::parse_schedule("0 0 30 2 MON", nullptr).ok());
}

TEST_CASE("parser survives arbitrary bytes and token soups", "[schedule][parse][fuzz]") {
  std::mt19937 rng(20260308);  // fixed seed: a failure reproduces
  const char* const vocabulary[] = {
      "*",   "*/0", "*/5",    "99",     ",",      ",,",         "-",       "JAN-",    "MON",     "7",
      "0",   "1-5", "5/15",   "@daily", "@every", "@reboot",    "10m",     "@",       "/",       "31",
      "2",   "29",  "\t",     "?",      "L",      "#",          "@yearly", "SUN-SAT", "FRI-SUN", "-1",
      "60",  "24",  "1-30/2", "*/",     "/0",     "4294967296", "0x10",    "feb",     "1,2,3",   "30",
      "*/7", "23",  "59",     "1-",     "--",     "**",         "@hourly", "0 0",     "12",      "sat",
  };
  const char* const field_words[] = {"*",  "*/5",  "1-5", "0",   "7",     "MON-FRI", "JAN", "1,15", "5/15", "29",
                                     "2",  "30",   "31",  "*/2", "12",    "sun",     "feb", "4-6",  "23",   "1-31/7",
                                     "59", "*/13", "3",   "dec", "2,4,6", "FRI-SUN", "13",  "*/40", "0-7",  "11"};
  std::uniform_int_distribution<std::size_t> field_word(0, std::size(field_words) - 1);
  const char* const zones_to_try[] = {"UTC", "America/New_York", "Australia/Lord_Howe", "Europe/Berlin"};
  std::vector<const date::time_zone*> zones{nullptr};
  for (const char* name : zones_to_try) {
    zones.push_back(zone(name));
  }
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> small(0, 48);
  std::uniform_int_distribution<std::size_t> word(0, std::size(vocabulary) - 1);
  std::uniform_int_distribution<long long> instant(0, 4'102'444'800LL);  // 1970..2100
  int accepted_cron = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string text;
    if (i % 3 == 0) {
      const int n = small(rng);
      for (int k = 0; k < n; ++k) {
        text.push_back(static_cast<char>(byte(rng)));
      }
    } else if (i % 3 == 1) {
      // Five or six plausible fields: mostly valid, sometimes out of range or never firing.
      const int n = 5 + byte(rng) % 2;
      for (int k = 0; k < n; ++k) {
        text += field_words[field_word(rng)];
        text += ' ';
      }
    } else {
      const int n = 1 + small(rng) % 8;
      for (int k = 0; k < n; ++k) {
        text += vocabulary[word(rng)];
        if (byte(rng) % 4 != 0) {
          text += ' ';
        }
      }
    }
    std::optional<tend::Expected<Schedule>> parsed;
    REQUIRE_NOTHROW(parsed.emplace(tend::schedule::parse_schedule(text, nullptr)));
    REQUIRE_NOTHROW(CronExpr::parse(text));
    if (!parsed->ok()) {
      CHECK_FALSE(parsed->error().empty());
      continue;
    }
    const auto* e = std::get_if<CronExpr>(&(*parsed)->kind);
    if (e == nullptr) {
      continue;
    }
    ++accepted_cron;
    const auto* z = zones[static_cast<std::size_t>(i) % zones.size()];
    const Seconds after{std::chrono::seconds{instant(rng)}};
    std::optional<Seconds> fire;
    REQUIRE_NOTHROW(fire = e->next_after(after, z));
    INFO("'" << text << "' after " << iso(after));
    // parse_schedule only accepts expressions that fire.
    REQUIRE(fire.has_value());
    CHECK(*fire > after);
    if (z == nullptr) {
      CHECK(matches_local(*e, local_of(*fire, nullptr)));
    }
  }
  CHECK(accepted_cron > 150);  // the soup must exercise next_after, not only the error paths
}

// ---------------------------------------------------------------------------------------------
// Next fire time in UTC

TEST_CASE("next fire: simple cases in UTC", "[schedule][next]") {
  // Strictly after: a fire instant itself is not returned.
  CHECK(fires("*/15 * * * *", "", "2026-01-01T00:00:00Z", 3) ==
        std::vector<std::string>{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z"});
  CHECK(next("*/15 * * * *", "", "2026-01-01T00:14:59Z") == "2026-01-01T00:15:00Z");
  CHECK(next("30 2 * * *", "", "2026-01-01T02:30:00Z") == "2026-01-02T02:30:00Z");
  CHECK(next("30 2 * * *", "", "2026-01-01T02:29:59Z") == "2026-01-01T02:30:00Z");
  CHECK(next("0 0 1 1 *", "", "2026-06-01T00:00:00Z") == "2027-01-01T00:00:00Z");
  CHECK(next("59 23 31 12 *", "", "2026-12-31T23:59:00Z") == "2027-12-31T23:59:00Z");
  // Carries: minute 59 -> next hour, hour 23 -> next day, Dec 31 -> next year.
  CHECK(next("0 0 * * *", "", "2026-12-31T23:59:59Z") == "2027-01-01T00:00:00Z");
  CHECK(fires("0 9-17/4 * * MON-FRI", "", "2026-01-02T12:00:00Z", 3) ==  // Fri 2 Jan 2026
        std::vector<std::string>{"2026-01-02T13:00:00Z", "2026-01-02T17:00:00Z", "2026-01-05T09:00:00Z"});
}

TEST_CASE("next fire: seconds field", "[schedule][next]") {
  CHECK(fires("*/10 * * * * *", "", "2026-01-01T00:00:05Z", 2) ==
        std::vector<std::string>{"2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z"});
  CHECK(next("30 15 10 * * *", "", "2026-01-01T10:15:30Z") == "2026-01-02T10:15:30Z");
  CHECK(next("59 59 23 * * *", "", "2026-01-01T00:00:00Z") == "2026-01-01T23:59:59Z");
}

TEST_CASE("next fire: cron(5) day rule", "[schedule][next]") {
  // Both restricted: the 13th OR a Friday. 2026-01-01 is a Thursday.
  CHECK(fires("0 0 13 * FRI", "", "2026-01-01T00:00:00Z", 4) ==
        std::vector<std::string>{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
                                 "2026-01-16T00:00:00Z"});
  // dom is `*`: only the weekday counts.
  CHECK(fires("0 0 * * FRI", "", "2026-01-01T00:00:00Z", 2) ==
        std::vector<std::string>{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"});
  // dow is `*`: only the day counts.
  CHECK(next("0 0 13 * *", "", "2026-01-01T00:00:00Z") == "2026-01-13T00:00:00Z");
  // dom `*/13` (days 1, 14, 27) begins with `*`, so BOTH must match: the first Friday among those
  // days is 27 Feb 2026 (Jan 1 Thu, 14 Wed, 27 Tue; Feb 1 Sun, 14 Sat, 27 Fri).
  CHECK(next("0 0 */13 * FRI", "", "2026-01-01T00:00:00Z") == "2026-02-27T00:00:00Z");
  // dow `*/5` (Sun, Fri) begins with `*`: the 13th that is a Sunday or Friday: Jan 13 is a Tue,
  // Feb 13 2026 a Friday.
  CHECK(next("0 0 13 * */5", "", "2026-01-01T00:00:00Z") == "2026-02-13T00:00:00Z");
}

TEST_CASE("next fire: month ends and leap days", "[schedule][next]") {
  // The 31st skips months that lack it.
  CHECK(fires("0 0 31 * *", "", "2026-01-31T00:00:00Z", 3) ==
        std::vector<std::string>{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"});
  CHECK(next("0 0 30 * *", "", "2026-01-30T00:00:00Z") == "2026-03-30T00:00:00Z");
  // Feb 29 only in leap years (2028, 2032; 2100 is not one).
  CHECK(fires("0 0 29 2 *", "", "2026-01-01T00:00:00Z", 2) ==
        std::vector<std::string>{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"});
  CHECK(next("0 0 29 2 *", "", "2096-03-01T00:00:00Z") == "2104-02-29T00:00:00Z");
  // Feb 29 on a Saturday or Sunday (dow `*/6` = Sun, Sat, AND rule): 2028-02-29 is a Tuesday,
  // 2032-02-29 a Sunday -- six years out, beyond a short search horizon.
  CHECK(next("0 0 29 2 */6", "", "2026-01-01T00:00:00Z") == "2032-02-29T00:00:00Z");
  CHECK(next("0 12 28-31 2 *", "", "2026-02-28T12:00:00Z") == "2027-02-28T12:00:00Z");
}

TEST_CASE("next_after outside the representable years returns nothing", "[schedule][next]") {
  const CronExpr e = cron("* * * * *");
  CHECK_FALSE(e.next_after(Seconds::min(), nullptr).has_value());
  CHECK_FALSE(e.next_after(Seconds::max(), zone("America/New_York")).has_value());
  CHECK(e.next_after(Seconds{}, nullptr) == Seconds{std::chrono::minutes{1}});
  // An expression that can never fire (built by hand; parse_schedule refuses it) ends the search.
  CronExpr never = cron("0 0 1 * *");
  never.days = 0;
  CHECK_FALSE(never.next_after(at("2026-01-01T00:00:00Z"), zone("Europe/Berlin")).has_value());
  never = cron("0 * 1 * *");
  never.months = 0;
  CHECK_FALSE(never.next_after(at("2026-01-01T00:00:00Z"), zone("Europe/Berlin")).has_value());
}

// ---------------------------------------------------------------------------------------------
// DST

TEST_CASE("New York spring forward: fixed-hour times", "[schedule][dst]") {
  // 02:30 does not exist on 2026-03-08: it fires at the jump, 03:00 EDT = 07:00Z. The next day
  // 02:30 EDT = 06:30Z.
  CHECK(fires("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2) ==
        std::vector<std::string>{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"});
  CHECK(next("30 2 * * *", "America/New_York", "2026-03-08T06:59:59Z") == "2026-03-08T07:00:00Z");
  CHECK(next("30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z") == "2026-03-09T06:30:00Z");
  // 01:00 EST = 06:00Z; 02:00 skipped -> 07:00Z; then 01:00 and 02:00 EDT on the 9th.
  CHECK(fires("0 1,2 * * *", "America/New_York", "2026-03-08T00:00:00Z", 4) ==
        std::vector<std::string>{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-09T05:00:00Z",
                                 "2026-03-09T06:00:00Z"});
  // Four skipped times on one day fire once, at the jump.
  CHECK(fires("0,15,30,45 2 * * *", "America/New_York", "2026-03-08T00:00:00Z", 3) ==
        std::vector<std::string>{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:15:00Z"});
  // A skipped time and 03:00 map to the same instant; 03:30 EDT = 07:30Z follows.
  CHECK(fires("0,30 2,3 * * *", "America/New_York", "2026-03-08T06:00:00Z", 3) ==
        std::vector<std::string>{"2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:00:00Z"});
  // Los Angeles: 02:30 skipped -> 03:00 PDT = 10:00Z.
  CHECK(next("30 2 * * *", "America/Los_Angeles", "2026-03-08T00:00:00Z") == "2026-03-08T10:00:00Z");
}

TEST_CASE("New York spring forward: *-hour expressions", "[schedule][dst]") {
  // Every real half hour: 01:30 EST = 06:30Z, 03:00 EDT = 07:00Z, 03:30 EDT = 07:30Z.
  CHECK(fires("*/30 * * * *", "America/New_York", "2026-03-08T06:00:00Z", 3) ==
        std::vector<std::string>{"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"});
  // `30 * * * *` has no 02:30 that day and, unlike a fixed hour, does not fire at the jump.
  CHECK(fires("30 * * * *", "America/New_York", "2026-03-08T06:00:00Z", 2) ==
        std::vector<std::string>{"2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"});
  // Six-field, every 10 s: 01:59:50 EST -> 03:00:00 EDT is 10 real seconds.
  CHECK(fires("*/10 * * * * *", "America/New_York", "2026-03-08T06:59:40Z", 3) ==
        std::vector<std::string>{"2026-03-08T06:59:50Z", "2026-03-08T07:00:00Z", "2026-03-08T07:00:10Z"});
}

TEST_CASE("New York fall back: fixed-hour times fire on the first occurrence", "[schedule][dst]") {
  // 01:30 happens at 05:30Z (EDT) and 06:30Z (EST); only the first fires. Next day 01:30 EST.
  CHECK(fires("30 1 * * *", "America/New_York", "2026-11-01T00:00:00Z", 2) ==
        std::vector<std::string>{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"});
  // Asked from inside the second pass, the repeated 01:30 is still not returned.
  CHECK(next("30 1 * * *", "America/New_York", "2026-11-01T06:10:00Z") == "2026-11-02T06:30:00Z");
  CHECK(next("30 1 * * *", "America/New_York", "2026-11-01T06:00:00Z") == "2026-11-02T06:30:00Z");
  // 01:00 EDT = 05:00Z, 02:00 EST = 07:00Z.
  CHECK(fires("0 1,2 * * *", "America/New_York", "2026-11-01T00:00:00Z", 3) ==
        std::vector<std::string>{"2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-02T06:00:00Z"});
  // Every minute of hour 1 fires once: 60 fires from 05:00Z to 05:59Z, then 2 Nov 01:00 EST.
  const auto minutes = fires("* 1 * * *", "America/New_York", "2026-11-01T04:59:00Z", 61);
  CHECK(minutes.front() == "2026-11-01T05:00:00Z");
  CHECK(minutes[59] == "2026-11-01T05:59:00Z");
  CHECK(minutes[60] == "2026-11-02T06:00:00Z");
  // Six-field: second occurrence of 01:30:15 (06:30:15Z) is skipped.
  CHECK(fires("15 30 1 * * *", "America/New_York", "2026-11-01T00:00:00Z", 2) ==
        std::vector<std::string>{"2026-11-01T05:30:15Z", "2026-11-02T06:30:15Z"});
}

TEST_CASE("New York fall back: *-hour expressions fire in both passes", "[schedule][dst]") {
  CHECK(fires("*/15 * * * *", "America/New_York", "2026-11-01T04:50:00Z", 9) ==
        std::vector<std::string>{"2026-11-01T05:00:00Z", "2026-11-01T05:15:00Z", "2026-11-01T05:30:00Z",
                                 "2026-11-01T05:45:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z",
                                 "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z", "2026-11-01T07:00:00Z"});
  // @hourly: 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST.
  CHECK(fires("@hourly", "America/New_York", "2026-11-01T03:30:00Z", 4) ==
        std::vector<std::string>{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
                                 "2026-11-01T07:00:00Z"});
  CHECK(fires("*/10 * * * * *", "America/New_York", "2026-11-01T05:59:40Z", 3) ==
        std::vector<std::string>{"2026-11-01T05:59:50Z", "2026-11-01T06:00:00Z", "2026-11-01T06:00:10Z"});
}

TEST_CASE("Europe/Berlin and Europe/London transitions", "[schedule][dst]") {
  // Berlin spring: 02:30 skipped -> 03:00 CEST = 01:00Z; next day 02:30 CEST = 00:30Z.
  CHECK(fires("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2) ==
        std::vector<std::string>{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"});
  // Berlin autumn: 02:30 CEST = 00:30Z first (02:30 CET = 01:30Z skipped); next day 02:30 CET.
  CHECK(fires("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2) ==
        std::vector<std::string>{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"});
  // London spring: 01:30 skipped -> 02:00 BST = 01:00Z; next day 01:30 BST = 00:30Z.
  CHECK(fires("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", 2) ==
        std::vector<std::string>{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"});
  // London autumn: 01:30 BST = 00:30Z, not 01:30 GMT = 01:30Z; next day 01:30 GMT.
  CHECK(fires("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", 2) ==
        std::vector<std::string>{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"});
  // London autumn, `*`-hour: 01:00 and 01:20/01:40 happen twice (BST then GMT).
  CHECK(fires("*/20 * * * *", "Europe/London", "2026-10-25T00:30:00Z", 4) ==
        std::vector<std::string>{"2026-10-25T00:40:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:20:00Z",
                                 "2026-10-25T01:40:00Z"});
}

TEST_CASE("Australia/Lord_Howe half-hour shifts", "[schedule][dst]") {
  // Spring (4 Oct): local 02:00-02:30 skipped. 02:15 fires at the jump, 15:30Z (02:30 +11);
  // the next day 02:15 +11 = 15:15Z. On the 3rd, 02:15 +10:30 = 2 Oct 15:45Z is before `from`.
  CHECK(fires("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", 2) ==
        std::vector<std::string>{"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"});
  // 02:45 exists that day: 02:45 +11 = 15:45Z.
  CHECK(next("45 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z") == "2026-10-03T15:45:00Z");
  // Autumn (5 Apr): local 01:30-02:00 repeated. 01:45 fires once, at 01:45 +11 = 14:45Z (not
  // 01:45 +10:30 = 15:15Z); the next day 01:45 +10:30 = 15:15Z.
  CHECK(fires("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z", 2) ==
        std::vector<std::string>{"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"});
  // `*`-hour every 15 real minutes: 01:45 +11, 01:30 +10:30, 01:45 +10:30, 02:00 +10:30.
  CHECK(fires("*/15 * * * *", "Australia/Lord_Howe", "2026-04-04T14:40:00Z", 4) ==
        std::vector<std::string>{"2026-04-04T14:45:00Z", "2026-04-04T15:00:00Z", "2026-04-04T15:15:00Z",
                                 "2026-04-04T15:30:00Z"});
}

TEST_CASE("Asia/Seoul has no DST", "[schedule][dst]") {
  // 02:30 KST = 17:30Z the day before, every day, the whole year through.
  CHECK(fires("30 2 * * *", "Asia/Seoul", "2026-03-08T00:00:00Z", 2) ==
        std::vector<std::string>{"2026-03-08T17:30:00Z", "2026-03-09T17:30:00Z"});
  CHECK(next("30 2 * * *", "Asia/Seoul", "2026-10-31T18:00:00Z") == "2026-11-01T17:30:00Z");
  CHECK(next("@yearly", "Asia/Seoul", "2026-06-01T00:00:00Z") == "2026-12-31T15:00:00Z");
  CHECK(next("*/10 * * * * *", "Asia/Seoul", "2026-03-08T06:59:55Z") == "2026-03-08T07:00:00Z");
}

TEST_CASE("next_after agrees with a minute-by-minute reference around transitions", "[schedule][dst][property]") {
  const char* const expressions[] = {"*/7 * * * *", "13,47 */3 * * *", "0 * * * *",    "30 2 * * *",   "*/20 1,2 * * *",
                                     "45 1 * * *",  "0,15 2,3 * * *",  "59 0-3 * * *", "10 2 * * SUN", "0 0 * * *"};
  const char* const zone_names[] = {"America/New_York", "Europe/Berlin", "Europe/London", "Australia/Lord_Howe"};
  const char* const starts[] = {"2026-03-07T20:00:00Z", "2026-03-28T20:00:00Z", "2026-04-04T10:00:00Z",
                                "2026-10-03T10:00:00Z", "2026-10-24T20:00:00Z", "2026-10-31T20:00:00Z"};
  for (const char* text : expressions) {
    const CronExpr e = cron(text);
    for (const char* zone_name : zone_names) {
      const auto* z = zone(zone_name);
      for (const char* start : starts) {
        Seconds t = at(start);
        for (int fire = 0; fire < 8; ++fire) {
          const auto got = e.next_after(t, z);
          INFO(text << " in " << zone_name << " after " << iso(t));
          REQUIRE(got.has_value());
          Seconds expected = t + std::chrono::minutes{1};
          while (!fires_at(e, expected, z)) {
            expected += std::chrono::minutes{1};
          }
          REQUIRE(iso(*got) == iso(expected));
          t = *got;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Zones and output

TEST_CASE("find_zone", "[schedule][zone]") {
  const auto seoul = tend::schedule::find_zone("Asia/Seoul");
  REQUIRE(seoul.ok());
  CHECK((*seoul)->name() == "Asia/Seoul");
  const auto mars = tend::schedule::find_zone("Mars/Base");
  REQUIRE_FALSE(mars.ok());
  CHECK(mars.error() == "unknown time zone 'Mars/Base'");
  CHECK_FALSE(tend::schedule::find_zone("").ok());
  CHECK_FALSE(tend::schedule::find_zone(std::string("Asia/Seoul\0x", 12)).ok());
  // UTC is nullptr (UTC throughout), found without the tz database.
  CHECK(tend::schedule::find_zone("UTC").ok());
  CHECK(*tend::schedule::find_zone("UTC") == nullptr);
  CHECK(*tend::schedule::find_zone("Etc/UTC") == nullptr);
  CHECK(tend::schedule::zone_name(nullptr) == "UTC");
  CHECK(tend::schedule::zone_name(*tend::schedule::find_zone("Asia/Seoul")) == "Asia/Seoul");
}

TEST_CASE("system_zone honours TZ and never returns garbage", "[schedule][zone]") {
  const char* old = std::getenv("TZ");
  const std::optional<std::string> saved = old != nullptr ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("TZ", "Asia/Seoul", 1);
  CHECK(tend::schedule::system_zone()->name() == "Asia/Seoul");
  ::setenv("TZ", ":Europe/Berlin", 1);
  CHECK(tend::schedule::system_zone()->name() == "Europe/Berlin");
  ::setenv("TZ", "UTC", 1);
  CHECK(tend::schedule::system_zone() == nullptr);  // UTC
  ::setenv("TZ", "Bogus/Zone", 1);
  const auto* fallback = tend::schedule::system_zone();  // /etc/localtime, or UTC (nullptr)
  CHECK((fallback == nullptr || !fallback->name().empty()));
  if (saved) {
    ::setenv("TZ", saved->c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
}

TEST_CASE("format_local prints local time with its numeric offset", "[schedule][format]") {
  using tend::schedule::format_local;
  CHECK(format_local(at("2026-03-08T10:00:00Z"), zone("America/Los_Angeles")) == "2026-03-08T03:00:00-07:00");
  CHECK(format_local(at("2026-03-08T09:59:59Z"), zone("America/Los_Angeles")) == "2026-03-08T01:59:59-08:00");
  CHECK(format_local(at("2026-03-08T07:00:00Z"), zone("America/New_York")) == "2026-03-08T03:00:00-04:00");
  CHECK(format_local(at("2026-11-01T06:30:00Z"), zone("America/New_York")) == "2026-11-01T01:30:00-05:00");
  CHECK(format_local(at("2026-10-03T15:30:00Z"), zone("Australia/Lord_Howe")) == "2026-10-04T02:30:00+11:00");
  CHECK(format_local(at("2026-10-03T15:29:59Z"), zone("Australia/Lord_Howe")) == "2026-10-04T01:59:59+10:30");
  CHECK(format_local(at("2026-03-08T17:30:00Z"), zone("Asia/Seoul")) == "2026-03-09T02:30:00+09:00");
  CHECK(format_local(at("2026-03-08T17:30:00Z"), nullptr) == "2026-03-08T17:30:00+00:00");
  CHECK(format_local(at("2026-03-08T17:30:00Z"), zone("UTC")) == "2026-03-08T17:30:00+00:00");
}
