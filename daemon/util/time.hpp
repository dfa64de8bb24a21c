#pragma once
// Wall-clock time as the documents and logs show it: ISO-8601, UTC, "Z".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tend {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

/// "2026-11-21T10:00:03Z" (seconds precision, UTC).
std::string format_iso8601(WallTime t);

/// Parse "2026-11-21T10:00:03Z", "2026-11-21T10:00:03+09:00", "2026-11-21T10:00" (UTC), "2026-11-21".
std::optional<WallTime> parse_iso8601(std::string_view text);

/// Milliseconds since the Unix epoch, for storage.
std::int64_t to_unix_ms(WallTime t);
WallTime from_unix_ms(std::int64_t ms);

}  // namespace tend
