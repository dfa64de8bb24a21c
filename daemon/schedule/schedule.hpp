#pragma once
// Schedules: parse -> next_fire (a pure function of an instant). No clock, no I/O here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "util/duration.hpp"
#include "util/expected.hpp"
#include "util/time.hpp"

namespace date {
class time_zone;
}

namespace tend::schedule {

using Seconds = std::chrono::sys_seconds;

/// A parsed cron expression (5-field, or 6-field with leading seconds, or an @macro other than
/// @every/@reboot). Opaque bit sets; see cron.cpp.
class CronExpr {
 public:
  /// Parse; errors name the field ("hour field: 24 is out of range 0-23").
  static Expected<CronExpr> parse(std::string_view text);

  /// First fire time strictly after `after`, evaluated in `zone` with SPEC's DST rules
  /// (fixed-hour expressions: once per local date-time, skipped times at the jump, repeated
  /// times on their first occurrence; `*`-hour expressions: every real matching instant).
  /// nullopt when none within 400 years (one Gregorian cycle: a weekday-restricted Feb 29 can be
  /// 28-40 years away) or when `after` is outside years 1-8999.
  [[nodiscard]] std::optional<Seconds> next_after(Seconds after, const date::time_zone* zone) const;

  [[nodiscard]] bool has_seconds_field() const { return has_seconds_; }

  // Bit sets (bit i set = value i allowed). Public for tests and for the implementation.
  std::uint64_t seconds = 0;  // 0-59
  std::uint64_t minutes = 0;  // 0-59
  std::uint32_t hours = 0;    // 0-23
  std::uint32_t days = 0;     // 1-31
  std::uint16_t months = 0;   // 1-12
  std::uint8_t weekdays = 0;  // 0-6, Sunday = 0 (7 folded into 0)
  bool dom_star = false;      // day-of-month field begins with '*'
  bool dow_star = false;      // day-of-week field begins with '*'
  bool hour_star = false;     // hour field begins with '*' (DST: every real matching instant)

 private:
  bool has_seconds_ = false;
};

/// `@every DURATION`: anchored to daemon start on the monotonic clock.
struct Every {
  Duration interval{};
};

/// `@reboot`: once when the daemon starts.
struct Reboot {};

/// Any schedule a job or check may have.
struct Schedule {
  std::string text;
  std::variant<CronExpr, Every, Reboot> kind;
  const date::time_zone* zone = nullptr;  // for CronExpr; nullptr = UTC

  /// Next fire strictly after `after` for CronExpr; nullopt for Every/Reboot (the caller plans
  /// those on the monotonic clock) or when it never fires.
  [[nodiscard]] std::optional<Seconds> next_after(Seconds after) const;
  bool operator==(const Schedule& o) const { return text == o.text && zone == o.zone; }
};

/// Parse any form: 5/6-field cron, @macros, `@every 10m`, `@reboot`. A cron expression that can
/// never fire (`0 0 30 2 *`) is an error. `zone` may be nullptr (UTC).
Expected<Schedule> parse_schedule(std::string_view text, const date::time_zone* zone);

/// Look up an IANA zone name ("Asia/Seoul"); error names the zone. "UTC" and "Etc/UTC" are nullptr
/// (UTC), without loading the tz database.
Expected<const date::time_zone*> find_zone(std::string_view name);

/// The system's zone (TZ, /etc/localtime), or nullptr for UTC (also when unknown).
const date::time_zone* system_zone();

/// The zone's IANA name; "UTC" for nullptr.
std::string zone_name(const date::time_zone* zone);

/// "2026-03-08T03:00:00-07:00": a fire time in its zone, as `tend next` prints it.
std::string format_local(Seconds t, const date::time_zone* zone);

}  // namespace tend::schedule
