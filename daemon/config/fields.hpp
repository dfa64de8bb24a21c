#pragma once
// Readers of the keys several sections share (`timezone:`, `schedule:`, `severity:`, "exactly one
// of"), so each means the same everywhere and is checked by the same code.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/reader.hpp"
#include "schedule/schedule.hpp"

namespace tend::config {

/// `timezone:` as an IANA zone; nullopt when absent or unknown (then the error is recorded).
std::optional<const date::time_zone*> read_timezone(MapReader& m);

/// `schedule:` parsed in `zone`; the schedule module's message says what is wrong (a bad field,
/// a schedule that never fires).
std::optional<schedule::Schedule> read_schedule(MapReader& m, const date::time_zone* zone);

/// Of `keys`, exactly one must be present: returns it (or nullopt, with the error recorded at the
/// second one in document order, or at the mapping when none is there).
std::optional<std::string_view> exactly_one(MapReader& m, const std::vector<std::string_view>& keys);

/// `severity:` (info | warning | critical) into `out`.
bool read_severity(MapReader& m, Severity& out);

/// "5%", "7.5%": how a percentage reads in a message.
std::string percent_text(double v);

}  // namespace tend::config
