#pragma once
// Building blocks of the pages: escaping, times as people read them, and reading the JSON
// documents without trusting their shape.

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/time.hpp"

namespace date {
class time_zone;
}

namespace tend::web {

/// Append text escaped for HTML content and quoted attributes (& < > " '); invalid UTF-8 becomes
/// U+FFFD and control characters other than tab and newline are dropped.
void append_html(std::string& out, std::string_view text);
/// The same, as a new string.
std::string html_escape(std::string_view text);

/// "now", "in 3m", "2h ago", "5d ago": the largest whole unit, for a glance.
std::string relative_time(WallTime t, WallTime now);
/// "2026-11-21 19:00:03" in `zone` (UTC when null).
std::string local_time(WallTime t, const date::time_zone* zone);
/// The zone's abbreviation at t ("KST", "UTC").
std::string zone_abbrev(WallTime t, const date::time_zone* zone);
/// "2026-11-21T10:00:03Z", as the documents write times (without the stream machinery of
/// format_iso8601, which costs microseconds a call).
std::string iso_utc(WallTime t);

/// Local times for one page: remembers the zone's current offset period, so thousands of times
/// cost one zone lookup instead of one each.
class LocalClock {
 public:
  explicit LocalClock(const date::time_zone* zone);
  ~LocalClock();
  LocalClock(const LocalClock&) = delete;
  LocalClock& operator=(const LocalClock&) = delete;
  /// "2026-11-21 19:00:03".
  std::string format(WallTime t);
  /// "KST".
  const std::string& abbrev(WallTime t);

 private:
  struct Period;
  const Period& period(WallTime t);
  const date::time_zone* zone_;
  std::unique_ptr<Period> period_;
};
/// A duration in milliseconds as "850 ms", "5.3 s", "4m 10s", "2h 5m", "3d 4h".
std::string format_ms(double ms);

/// Parse the documents' times ("2026-11-21T10:00:03Z"; other ISO-8601 forms more slowly).
std::optional<WallTime> parse_time(std::string_view text);

/// Field readers that tolerate a missing field or another type (empty / nullopt).
std::string_view json_str(const boost::json::object& o, std::string_view key);
std::optional<double> json_num(const boost::json::object& o, std::string_view key);
bool json_bool(const boost::json::object& o, std::string_view key);
std::optional<WallTime> json_time(const boost::json::object& o, std::string_view key);

}  // namespace tend::web
