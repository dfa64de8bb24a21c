#pragma once
// Durations as the config writes them: "250ms", "10s", "5m", "1h30m", "2d".

#include <chrono>
#include <string>
#include <string_view>

#include "util/expected.hpp"

namespace tend {

using Duration = std::chrono::milliseconds;

/// Parse a duration that always carries a unit (ms, s, m, h, d; concatenated parts allowed).
/// A bare number is an error whose message suggests the unit ("did you mean 300s?").
Expected<Duration> parse_duration(std::string_view text);

/// Format a duration compactly in the same syntax ("1h30m", "250ms", "0s").
std::string format_duration(Duration d);

}  // namespace tend
