#include "util/duration.hpp"

#include <cctype>
#include <cstdint>

namespace tend {

namespace {

// 100 years: any wall or monotonic time of this century plus a duration still fits the clocks'
// nanosecond counts (which end in 2262), so `now + duration` is never undefined behaviour.
constexpr std::int64_t kMaxMs = std::int64_t{36500} * 86'400'000;

}  // namespace

Expected<Duration> parse_duration(std::string_view text) {
  if (text.empty()) {
    return Error{"empty duration (expected e.g. 30s, 5m, 1h30m)"};
  }
  bool all_digits = true;
  for (char c : text) {
    all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  if (all_digits) {
    return Error{"duration '" + std::string(text) + "' has no unit: did you mean " + std::string(text) + "s?"};
  }
  std::int64_t total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) {
      return Error{"invalid duration '" + std::string(text) + "' (expected e.g. 250ms, 10s, 5m, 1h30m, 2d)"};
    }
    std::int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000'000LL) {
        return Error{"duration '" + std::string(text) + "' is too large"};
      }
      ++i;
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])) != 0) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    std::int64_t scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else if (unit.empty()) {
      return Error{"duration '" + std::string(text) + "' has a number without a unit: did you mean " +
                   std::string(text) + "s?"};
    } else {
      return Error{"unknown unit '" + std::string(unit) + "' in duration '" + std::string(text) +
                   "' (units: ms, s, m, h, d)"};
    }
    if (n > (kMaxMs - total_ms) / scale) {
      return Error{"duration '" + std::string(text) + "' is too large (at most 36500d)"};
    }
    total_ms += n * scale;
  }
  return Duration{total_ms};
}

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  struct Unit {
    std::int64_t size;
    const char* name;
  };
  static constexpr Unit units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& u : units) {
    if (ms >= u.size) {
      out += std::to_string(ms / u.size) + u.name;
      ms %= u.size;
    }
  }
  return out;
}

}  // namespace tend
