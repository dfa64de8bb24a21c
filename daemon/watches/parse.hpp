#pragma once
// Access-log lines -> HTTP status. Pure functions, no state: the hot path of a watch (see
// bench/bench_watch_parse.cpp for how many lines a second it sustains).

#include <optional>
#include <string>
#include <string_view>

#include "config/model.hpp"

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

/// A parser bound to one watch's format and status field.
class LineParser {
 public:
  LineParser(config::LogFormat format, std::string status_field) : format_(format), field_(std::move(status_field)) {}
  /// The status of `line`, or nullopt when it cannot be parsed.
  [[nodiscard]] std::optional<int> status(std::string_view line) const {
    return format_ == config::LogFormat::combined ? parse_combined(line) : parse_json(line, field_);
  }

 private:
  config::LogFormat format_;
  std::string field_;
};

}  // namespace tend::watches
