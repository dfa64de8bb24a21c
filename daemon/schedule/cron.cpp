// Cron expressions: parsing into bit sets, and the next fire time in a time zone.

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "schedule/detail.hpp"
#include "schedule/schedule.hpp"

namespace tend::schedule {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using LocalSeconds = date::local_seconds;

constexpr std::array<std::string_view, 12> month_names = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> weekday_names = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  std::span<const std::string_view> names;  // names[i] has value name_base + i
  int name_base;
};

constexpr FieldSpec second_spec{"second", 0, 59, {}, 0};
constexpr FieldSpec minute_spec{"minute", 0, 59, {}, 0};
constexpr FieldSpec hour_spec{"hour", 0, 23, {}, 0};
constexpr FieldSpec dom_spec{"day-of-month", 1, 31, {}, 0};
constexpr FieldSpec month_spec{"month", 1, 12, month_names, 1};
constexpr FieldSpec dow_spec{"day-of-week", 0, 7, weekday_names, 0};

// How far next_after looks. A weekday-restricted Feb 29 (`0 0 29 2 */6`) can be 28-40 years away,
// so the ~5 years a plain calendar needs is not enough; one 400-year Gregorian cycle contains every
// (month, day, weekday) combination there is, so nothing that can fire is ever missed. Expressions
// that can never fire are rejected by parse_schedule, so the long walk is never taken in practice.
constexpr seconds search_horizon = std::chrono::duration_cast<seconds>(date::years{400});

Error field_error(const FieldSpec& spec, const std::string& message) {
  return Error{std::string(spec.name) + " field: " + message};
}

bool all_of(std::string_view text, bool (*pred)(char)) { return std::all_of(text.begin(), text.end(), pred); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// Digits to an int, saturating so that "99999999999999999999" reports as out of range instead of
/// overflowing.
int saturating_number(std::string_view digits) {
  constexpr int cap = 1'000'000;
  int n = 0;
  for (char c : digits) {
    n = std::min(cap, n * 10 + (c - '0'));
  }
  return n;
}

/// One value of a field: a number, or a name where the field has names.
Expected<int> parse_value(std::string_view token, const FieldSpec& spec) {
  if (token.empty()) {
    return field_error(spec, "missing value");
  }
  if (all_of(token, is_digit)) {
    const int n = saturating_number(token);
    if (n < spec.min || n > spec.max) {
      return field_error(spec, detail::printable(token) + " is out of range " + std::to_string(spec.min) + "-" +
                                   std::to_string(spec.max));
    }
    return n;
  }
  if (all_of(token, is_alpha)) {
    if (spec.names.empty()) {
      return field_error(spec, detail::printable(token) + " is not a number");
    }
    const std::string lower = detail::ascii_lower(token);
    for (std::size_t i = 0; i < spec.names.size(); ++i) {
      if (spec.names[i] == lower) {
        return spec.name_base + static_cast<int>(i);
      }
    }
    return field_error(spec, "unknown name " + detail::printable(token));
  }
  return field_error(spec, "invalid value " + detail::printable(token));
}

/// One comma-separated entry: `*`, `N`, `A-B`, each optionally `/STEP` (`N/STEP` runs to the max).
Expected<std::uint64_t> parse_entry(std::string_view entry, const FieldSpec& spec) {
  std::string_view base = entry;
  int step = 1;
  bool has_step = false;
  if (const auto slash = entry.find('/'); slash != std::string_view::npos) {
    base = entry.substr(0, slash);
    const std::string_view step_text = entry.substr(slash + 1);
    if (step_text.empty() || !all_of(step_text, is_digit)) {
      return field_error(spec, "invalid step " + detail::printable(step_text) + " in " + detail::printable(entry));
    }
    step = saturating_number(step_text);
    if (step == 0) {
      return Error{"step 0 in " + std::string(spec.name) + " field"};
    }
    has_step = true;
  }
  if (base.empty()) {
    return field_error(spec, "missing value before the step in " + detail::printable(entry));
  }
  int low = spec.min;
  int high = spec.max;
  if (base != "*") {
    const auto dash = base.find('-');
    const auto first = parse_value(base.substr(0, dash), spec);
    if (!first) {
      return Error{first.error()};
    }
    low = *first;
    high = has_step ? spec.max : low;
    if (dash != std::string_view::npos) {
      const std::string_view high_text = base.substr(dash + 1);
      const auto second = parse_value(high_text, spec);
      if (!second) {
        return Error{second.error()};
      }
      high = *second;
      // `FRI-SUN` means Friday through Sunday: SUN closes a range as 7, as the numeric form would.
      if (&spec == &dow_spec && high == 0 && all_of(high_text, is_alpha)) {
        high = 7;
      }
      if (low > high) {
        return field_error(spec, "range " + detail::printable(base) + " runs backwards");
      }
    }
  }
  std::uint64_t bits = 0;
  for (int v = low; v <= high; v += step) {
    bits |= std::uint64_t{1} << static_cast<unsigned>(v);
  }
  return bits;
}

Expected<std::uint64_t> parse_field(std::string_view text, const FieldSpec& spec) {
  std::uint64_t bits = 0;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string_view entry = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (entry.empty()) {
      return field_error(spec, "empty list entry in " + detail::printable(text));
    }
    const auto entry_bits = parse_entry(entry, spec);
    if (!entry_bits) {
      return entry_bits;
    }
    bits |= *entry_bits;
    if (comma == std::string_view::npos) {
      return bits;
    }
    start = comma + 1;
  }
}

/// The 5-field equivalent of a macro, or empty when `name` is not a calendar macro.
std::string_view expand_macro(std::string_view name) {
  if (name == "@yearly" || name == "@annually") {
    return "0 0 1 1 *";
  }
  if (name == "@monthly") {
    return "0 0 1 * *";
  }
  if (name == "@weekly") {
    return "0 0 * * 0";
  }
  if (name == "@daily" || name == "@midnight") {
    return "0 0 * * *";
  }
  if (name == "@hourly") {
    return "0 * * * *";
  }
  return {};
}

// ---- next fire time -------------------------------------------------------------------------

/// Smallest value >= from (and <= max) whose bit is set, or -1.
int next_bit(std::uint64_t mask, int from, int max) {
  if (from > max) {
    return -1;
  }
  const std::uint64_t rest = mask >> static_cast<unsigned>(from);
  if (rest == 0) {
    return -1;
  }
  const int v = from + std::countr_zero(rest);
  return v <= max ? v : -1;
}

bool has_bit(std::uint64_t mask, unsigned v) { return ((mask >> v) & 1U) != 0; }

/// cron(5): when both day fields are restricted a day matching either fires; a field starting
/// with `*` otherwise defers to the other one.
bool day_matches(const CronExpr& e, const date::year_month_day& ymd) {
  const bool dom = has_bit(e.days, static_cast<unsigned>(ymd.day()));
  const bool dow = has_bit(e.weekdays, date::weekday{date::sys_days{ymd}}.c_encoding());
  return (e.dom_star || e.dow_star) ? (dom && dow) : (dom || dow);
}

/// First local wall time t with from <= t < limit that matches every field. Walks field by field
/// with carries (month, day, hour, minute, second), so each step skips a whole non-matching unit.
std::optional<LocalSeconds> next_local_match(const CronExpr& e, LocalSeconds t, LocalSeconds limit) {
  if ((e.months & 0x1ffeU) == 0) {
    return std::nullopt;  // not from parse(); without this the month carry would never stop
  }
  while (t < limit) {
    const auto day = date::floor<date::days>(t);
    const date::year_month_day ymd{day};
    const int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    const int next_month = next_bit(e.months, month, 12);
    if (next_month != month) {
      const date::year_month_day first =
          next_month < 0
              ? (ymd.year() + date::years{1}) / date::month{static_cast<unsigned>(next_bit(e.months, 1, 12))} / 1
              : ymd.year() / date::month{static_cast<unsigned>(next_month)} / 1;
      t = LocalSeconds{date::local_days{first}};
      continue;
    }
    if (!day_matches(e, ymd)) {
      t = LocalSeconds{day + date::days{1}};
      continue;
    }
    const auto tod = t - day;
    const int hour = static_cast<int>(std::chrono::duration_cast<hours>(tod).count());
    const int minute = static_cast<int>(std::chrono::duration_cast<minutes>(tod).count() % 60);
    const int second = static_cast<int>(tod.count() % 60);
    const int next_hour = next_bit(e.hours, hour, 23);
    if (next_hour < 0) {
      t = LocalSeconds{day + date::days{1}};
      continue;
    }
    if (next_hour != hour) {
      t = day + hours{next_hour};
      continue;
    }
    const int next_minute = next_bit(e.minutes, minute, 59);
    if (next_minute < 0) {
      t = day + hours{hour + 1};
      continue;
    }
    if (next_minute != minute) {
      t = day + hours{hour} + minutes{next_minute};
      continue;
    }
    const int next_second = next_bit(e.seconds, second, 59);
    if (next_second < 0) {
      t = day + hours{hour} + minutes{minute + 1};
      continue;
    }
    t = day + hours{hour} + minutes{minute} + seconds{next_second};
    return t < limit ? std::optional(t) : std::nullopt;
  }
  return std::nullopt;
}

LocalSeconds as_local(Seconds utc, seconds offset) { return LocalSeconds{(utc + offset).time_since_epoch()}; }
Seconds as_sys(LocalSeconds local, seconds offset) { return Seconds{local.time_since_epoch()} - offset; }

/// `*`-hour expressions: every real instant whose wall time matches. Between two transitions the
/// offset is constant and wall time runs monotonically, so search each such segment in turn.
std::optional<Seconds> next_real_instant(const CronExpr& e, Seconds after, const date::time_zone* zone) {
  const Seconds horizon = after + search_horizon;
  Seconds t = after + seconds{1};
  while (t < horizon) {
    seconds offset{0};
    Seconds segment_end = horizon;
    if (zone != nullptr) {
      const date::sys_info info = zone->get_info(t);
      offset = info.offset;
      segment_end = std::min(Seconds{info.end}, horizon);  // clamp first: the last end is year 32767
    }
    if (const auto match = next_local_match(e, as_local(t, offset), as_local(segment_end, offset))) {
      return as_sys(*match, offset);
    }
    t = segment_end;
  }
  return std::nullopt;
}

/// Fixed-hour expressions: once per matching local date-time, in local order. Mapping a local
/// time to its instant is monotonic (skipped times collapse onto the jump, repeated times take
/// their first occurrence), so the first mapped instant past `after` is the answer.
std::optional<Seconds> next_local_datetime(const CronExpr& e, Seconds after, const date::time_zone* zone) {
  if (zone == nullptr) {
    const auto match =
        next_local_match(e, as_local(after, seconds{0}) + seconds{1}, as_local(after + search_horizon, seconds{0}));
    return match ? std::optional(as_sys(*match, seconds{0})) : std::nullopt;
  }
  LocalSeconds from = as_local(after, zone->get_info(after).offset) + seconds{1};
  const LocalSeconds limit = from + search_horizon;
  while (const auto match = next_local_match(e, from, limit)) {
    const date::local_info info = zone->get_info(*match);
    const Seconds instant =
        info.result == date::local_info::nonexistent ? Seconds{info.second.begin} : as_sys(*match, info.first.offset);
    if (instant > after) {
      return instant;
    }
    // Only a repeated time whose first occurrence already passed lands here (`after` is in the
    // second pass of a fall-back): skip the rest of the repeated stretch in one step.
    from = *match + seconds{1};
    if (info.result == date::local_info::ambiguous) {
      from = std::max(from, as_local(Seconds{info.first.end}, info.first.offset));
    }
  }
  return std::nullopt;
}

}  // namespace

Expected<CronExpr> CronExpr::parse(std::string_view text) {
  const std::vector<std::string_view> words = detail::split_words(text);
  if (words.empty()) {
    return Error{"empty schedule"};
  }
  if (words.front().front() == '@') {
    const std::string name = detail::ascii_lower(words.front());
    if (name == "@every" || name == "@reboot") {
      return Error{name + " is not a calendar expression"};
    }
    const std::string_view expansion = expand_macro(name);
    if (expansion.empty()) {
      return Error{"unknown macro " + detail::printable(words.front())};
    }
    if (words.size() > 1) {
      return Error{name + " takes no arguments"};
    }
    return parse(expansion);
  }
  if (words.size() != 5 && words.size() != 6) {
    return Error{"expected 5 or 6 fields, got " + std::to_string(words.size())};
  }
  CronExpr e;
  std::size_t i = 0;
  e.has_seconds_ = words.size() == 6;
  if (e.has_seconds_) {
    const auto bits = parse_field(words[i++], second_spec);
    if (!bits) {
      return Error{bits.error()};
    }
    e.seconds = *bits;
  } else {
    e.seconds = 1;  // a 5-field expression fires at second 0
  }
  const std::array<const FieldSpec*, 5> specs = {&minute_spec, &hour_spec, &dom_spec, &month_spec, &dow_spec};
  std::array<std::uint64_t, 5> bits{};
  for (std::size_t f = 0; f < specs.size(); ++f, ++i) {
    const auto field_bits = parse_field(words[i], *specs[f]);
    if (!field_bits) {
      return Error{field_bits.error()};
    }
    bits[f] = *field_bits;
  }
  const std::size_t first_field = e.has_seconds_ ? 1 : 0;
  e.minutes = bits[0];
  e.hours = static_cast<std::uint32_t>(bits[1]);
  e.days = static_cast<std::uint32_t>(bits[2]);
  e.months = static_cast<std::uint16_t>(bits[3]);
  // 7 is Sunday as well as 0.
  e.weekdays = static_cast<std::uint8_t>((bits[4] | (bits[4] >> 7U)) & 0x7fU);
  e.hour_star = words[first_field + 1].front() == '*';
  e.dom_star = words[first_field + 2].front() == '*';
  e.dow_star = words[first_field + 4].front() == '*';
  return e;
}

std::optional<Seconds> CronExpr::next_after(Seconds after, const date::time_zone* zone) const {
  // Keep the whole search inside the years the calendar arithmetic represents.
  constexpr Seconds earliest{date::sys_days{date::year{1} / 1 / 1}};
  constexpr Seconds latest{date::sys_days{date::year{9000} / 1 / 1}};
  if (after < earliest || after >= latest) {
    return std::nullopt;
  }
  return hour_star ? next_real_instant(*this, after, zone) : next_local_datetime(*this, after, zone);
}

}  // namespace tend::schedule
