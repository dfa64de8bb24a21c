// Schedules of every kind, time zones, and how fire times are shown.

#include "schedule/schedule.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "schedule/detail.hpp"

namespace tend::schedule {
namespace {

constexpr int max_month_day[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/// Whether some day exists on which `e` fires. Every month holds every weekday and every valid
/// (month, day) pair — Feb 29 included — falls on every weekday somewhere in the 400-year
/// Gregorian cycle, so only the (month, day-of-month) pairs need checking.
bool can_fire(const CronExpr& e) {
  if (e.seconds == 0 || e.minutes == 0 || e.hours == 0 || e.months == 0 || e.weekdays == 0 || e.days == 0) {
    return false;
  }
  if (!e.dom_star && !e.dow_star) {
    return true;  // cron(5) OR rule: the weekday alone fires in any month
  }
  for (unsigned m = 1; m <= 12; ++m) {
    if (((e.months >> m) & 1U) == 0) {
      continue;
    }
    for (unsigned d = 1; d <= static_cast<unsigned>(max_month_day[m]); ++d) {
      if (((e.days >> d) & 1U) != 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::optional<Seconds> Schedule::next_after(Seconds after) const {
  if (const auto* cron = std::get_if<CronExpr>(&kind)) {
    return cron->next_after(after, zone);
  }
  return std::nullopt;
}

Expected<Schedule> parse_schedule(std::string_view text, const date::time_zone* zone) {
  const std::vector<std::string_view> words = detail::split_words(text);
  if (words.empty()) {
    return Error{"empty schedule"};
  }
  // Keep the text in one canonical spacing so that a reload that only re-indents a schedule
  // compares equal and the job keeps its state.
  std::string canonical;
  for (const auto word : words) {
    canonical += canonical.empty() ? "" : " ";
    canonical += word;
  }
  const std::string head = detail::ascii_lower(words.front());
  if (head == "@every") {
    if (words.size() != 2) {
      return Error{"@every needs exactly one duration (e.g. @every 10m), got " + std::to_string(words.size() - 1)};
    }
    const auto interval = parse_duration(words[1]);
    if (!interval) {
      return Error{"@every: " + interval.error()};
    }
    if (interval->count() <= 0) {
      return Error{"@every: interval must be greater than zero"};
    }
    return Schedule{canonical, Every{*interval}, zone};
  }
  if (head == "@reboot") {
    if (words.size() != 1) {
      return Error{"@reboot takes no arguments"};
    }
    return Schedule{canonical, Reboot{}, zone};
  }
  auto cron = CronExpr::parse(text);
  if (!cron) {
    return Error{cron.error()};
  }
  if (!can_fire(*cron)) {
    // Macros always fire, so this is a 5- or 6-field expression: quote its day fields.
    const std::size_t n = words.size();
    return Error{"never fires: day-of-month " + detail::printable(words[n - 3]) + " does not occur in month " +
                 detail::printable(words[n - 2])};
  }
  return Schedule{canonical, *cron, zone};
}

namespace {

/// UTC's own names. nullptr is UTC throughout (schedules, format_local, the pages), so a daemon in
/// UTC never loads the tz database: date's list of every zone is 53 kB of heap (issue 14).
bool is_utc(std::string_view name) { return name == "UTC" || name == "Etc/UTC"; }

}  // namespace

Expected<const date::time_zone*> find_zone(std::string_view name) {
  if (is_utc(name)) {
    return static_cast<const date::time_zone*>(nullptr);
  }
  // The tz database throws both for unknown names and when it cannot be loaded at all; either way
  // the caller gets one config error naming the zone.
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Error{"unknown time zone '" + detail::printable(name) + "'"};
  }
}

const date::time_zone* system_zone() {
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string_view name(tz);
    if (name.front() == ':') {
      name.remove_prefix(1);  // POSIX ":Area/City"
    }
    if (const auto zone = find_zone(name)) {
      return *zone;
    }
  }
  // /etc/localtime -> /usr/share/zoneinfo/Etc/UTC (Debian's default): UTC without the database.
  std::error_code ec;
  const std::string target = std::filesystem::read_symlink("/etc/localtime", ec).string();
  if (const auto at = target.find("zoneinfo/"); !ec && at != std::string::npos && is_utc(target.substr(at + 9))) {
    return nullptr;
  }
  try {
    return date::current_zone();
  } catch (const std::exception&) {
    // No /etc/localtime (minimal containers): UTC.
  }
  return nullptr;
}

std::string zone_name(const date::time_zone* zone) { return zone != nullptr ? std::string(zone->name()) : "UTC"; }

std::string format_local(Seconds t, const date::time_zone* zone) {
  const std::chrono::seconds offset = zone != nullptr ? zone->get_info(t).offset : std::chrono::seconds{0};
  std::string out = date::format("%FT%T", date::local_seconds{(t + offset).time_since_epoch()});
  const long long magnitude = offset < std::chrono::seconds{0} ? -offset.count() : offset.count();
  // snprintf rather than string concatenation: GCC 12 at -O3 misreports the latter (-Wrestrict).
  char buf[64];
  std::snprintf(buf, sizeof buf, "%c%02lld:%02lld", offset < std::chrono::seconds{0} ? '-' : '+', magnitude / 3600,
                magnitude / 60 % 60);
  out += buf;
  if (magnitude % 60 != 0) {
    std::snprintf(buf, sizeof buf, ":%02lld", magnitude % 60);  // historical local mean time offsets
    out += buf;
  }
  return out;
}

}  // namespace tend::schedule
