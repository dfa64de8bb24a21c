#pragma once
// Access-log lines -> HTTP status: the pure functions behind the log formats (combined.cpp,
// json.cpp), here so tests and benchmarks reach them directly.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tend::watches {

/// The status of an nginx/apache "combined" (or "common") line:
/// `IP - USER [time] "REQUEST" STATUS BYTES "referer" "agent"`. The status is the number after
/// the quoted request, whose `\"` and `\\` escapes are honoured. nullopt when the line has no
/// such shape or the status is not 100-599.
std::optional<int> parse_combined(std::string_view line);

/// The status of a one-object-a-line JSON log (nginx `log_format ... escape=json`): the member
/// `field` of the top-level object (or a JSON pointer when `field` starts with '/'), a number or
/// a numeric string. nullopt for anything else (not JSON, not an object, no such member, not
/// 100-599).
std::optional<int> parse_json(std::string_view line, const std::string& field);

/// `v` when it is an HTTP status (100-599).
inline std::optional<int> valid_status(std::int64_t v) {
  if (v < 100 || v > 599) {
    return std::nullopt;
  }
  return static_cast<int>(v);
}

}  // namespace tend::watches
