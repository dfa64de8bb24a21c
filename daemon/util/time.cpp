#include "util/time.hpp"

#include <date/date.h>

#include <sstream>

namespace tend {

std::string format_iso8601(WallTime t) { return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t)); }

std::optional<WallTime> parse_iso8601(std::string_view text) {
  std::string s(text);
  const char* forms_with_offset[] = {"%FT%T%Ez", "%FT%H:%M%Ez", "%F %T%Ez"};
  for (const char* form : forms_with_offset) {
    std::istringstream in(s);
    date::sys_seconds tp;
    in >> date::parse(form, tp);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) {
      return WallTime(tp);
    }
  }
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    s.pop_back();
  }
  const char* forms[] = {"%FT%T", "%FT%H:%M", "%F %T", "%F %H:%M", "%F"};
  for (const char* form : forms) {
    std::istringstream in(s);
    date::sys_seconds tp;
    in >> date::parse(form, tp);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) {
      return WallTime(tp);
    }
  }
  return std::nullopt;
}

std::int64_t to_unix_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime from_unix_ms(std::int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }

}  // namespace tend
