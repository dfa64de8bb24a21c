#include "web/html.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <cmath>

#include "util/text.hpp"

namespace tend::web {
namespace {

int digits(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

void append_html(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      const auto len = utf8_length(text, i);
      if (len == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(text.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (u >= 0x20 || c == '\n' || c == '\t') {
          if (u != 0x7F) {
            out += c;
          }
        }
    }
    ++i;
  }
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_html(out, text);
  return out;
}

std::string relative_time(WallTime t, WallTime now) {
  using namespace std::chrono;
  const auto d = duration_cast<seconds>(t - now).count();
  const auto a = d < 0 ? -d : d;
  if (a < 1) {
    return "now";
  }
  std::string n;
  if (a < 60) {
    n = std::to_string(a) + "s";
  } else if (a < 3600) {
    n = std::to_string(a / 60) + "m";
  } else if (a < 86400) {
    n = std::to_string(a / 3600) + "h";
  } else {
    n = std::to_string(a / 86400) + "d";
  }
  return d > 0 ? "in " + n : n + " ago";
}

namespace {

void two(std::string& out, long long v) {
  out += static_cast<char>('0' + v / 10 % 10);
  out += static_cast<char>('0' + v % 10);
}

/// "YYYY-MM-DD<sep>HH:MM:SS" for seconds since the epoch (already shifted to local time).
std::string civil(std::chrono::seconds since_epoch, char sep) {
  using namespace std::chrono;
  const auto day = floor<date::days>(since_epoch);
  const date::year_month_day ymd{date::sys_days(day)};
  const auto tod = (since_epoch - day).count();
  std::string out;
  out.reserve(20);
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) {
    return "(out of range)";
  }
  two(out, y / 100);
  two(out, y % 100);
  out += '-';
  two(out, static_cast<unsigned>(ymd.month()));
  out += '-';
  two(out, static_cast<unsigned>(ymd.day()));
  out += sep;
  two(out, tod / 3600);
  out += ':';
  two(out, tod / 60 % 60);
  out += ':';
  two(out, tod % 60);
  return out;
}

}  // namespace

struct LocalClock::Period {
  date::sys_seconds begin;
  date::sys_seconds end;
  std::chrono::seconds offset{0};
  std::string abbrev = "UTC";
};

LocalClock::LocalClock(const date::time_zone* zone) : zone_(zone) {}
LocalClock::~LocalClock() = default;

const LocalClock::Period& LocalClock::period(WallTime t) {
  const auto s = std::chrono::floor<std::chrono::seconds>(t);
  if (!period_) {
    period_ = std::make_unique<Period>();
    if (zone_ == nullptr) {
      period_->begin = date::sys_seconds::min();
      period_->end = date::sys_seconds::max();
      return *period_;
    }
  } else if (s >= period_->begin && s < period_->end) {
    return *period_;
  }
  const auto info = zone_->get_info(s);
  period_->begin = info.begin;
  period_->end = info.end;
  period_->offset = info.offset;
  period_->abbrev = info.abbrev;
  return *period_;
}

std::string LocalClock::format(WallTime t) {
  const auto s = std::chrono::floor<std::chrono::seconds>(t);
  return civil(s.time_since_epoch() + period(t).offset, ' ');
}

const std::string& LocalClock::abbrev(WallTime t) { return period(t).abbrev; }

std::string local_time(WallTime t, const date::time_zone* zone) { return LocalClock(zone).format(t); }

std::string zone_abbrev(WallTime t, const date::time_zone* zone) { return LocalClock(zone).abbrev(t); }

std::string iso_utc(WallTime t) {
  return civil(std::chrono::floor<std::chrono::seconds>(t).time_since_epoch(), 'T') + "Z";
}

std::string format_ms(double ms) {
  if (!std::isfinite(ms) || ms < 0 || ms > 1e15) {
    return "-";
  }
  // Integer arithmetic rather than snprintf: a page formats thousands of these.
  const auto whole = static_cast<long long>(std::llround(ms));
  if (whole < 1000) {
    return std::to_string(whole) + " ms";
  }
  if (whole < 60'000) {
    const auto tenths = (whole + 50) / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
  }
  const auto s = whole / 1000;
  // Two units at most, the second left out when it is zero ("5m", "4m 10s", "2h 5m", "3d").
  const auto two_units = [](long long big, const char* big_unit, long long small, const char* small_unit) {
    std::string out = std::to_string(big) + big_unit;
    if (small > 0) {
      out += ' ' + std::to_string(small) + small_unit;
    }
    return out;
  };
  if (s < 3600) {
    return two_units(s / 60, "m", s % 60, "s");
  }
  if (s < 86400) {
    return two_units(s / 3600, "h", s / 60 % 60, "m");
  }
  return two_units(s / 86400, "d", s / 3600 % 24, "h");
}

std::optional<WallTime> parse_time(std::string_view s) {
  // The documents write exactly this form; a general parser costs microseconds per call and a
  // page of 1,000 entries has thousands of times.
  if (s.size() == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z') {
    const int y = digits(s, 0, 4);
    const int mo = digits(s, 5, 2);
    const int d = digits(s, 8, 2);
    const int h = digits(s, 11, 2);
    const int mi = digits(s, 14, 2);
    const int se = digits(s, 17, 2);
    if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && se >= 0 &&
        se < 61) {
      const date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                                     date::day(static_cast<unsigned>(d))};
      if (ymd.ok()) {
        return WallTime(date::sys_days(ymd)) + std::chrono::hours(h) + std::chrono::minutes(mi) +
               std::chrono::seconds(se);
      }
    }
    return std::nullopt;
  }
  return parse_iso8601(s);
}

std::string_view json_str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return {};
  }
  return {v->get_string().data(), v->get_string().size()};
}

std::optional<double> json_num(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return static_cast<double>(v->get_int64());
  }
  if (v->is_uint64()) {
    return static_cast<double>(v->get_uint64());
  }
  if (v->is_double()) {
    return v->get_double();
  }
  return std::nullopt;
}

bool json_bool(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::optional<WallTime> json_time(const boost::json::object& o, std::string_view key) {
  const auto s = json_str(o, key);
  if (s.empty()) {
    return std::nullopt;
  }
  return parse_time(s);
}

}  // namespace tend::web
