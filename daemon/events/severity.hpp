#pragma once
// How urgent an alert is. The one place severities are named and parsed: config reads them,
// entries publish them, alerting routes and renders them.

#include <array>
#include <optional>
#include <string_view>

namespace tend::events {

enum class Severity { info, warning, critical };

/// "info", "warning" or "critical".
const char* to_string(Severity s);

/// The severity named `text`; nullopt for anything else (never a silent default).
std::optional<Severity> parse_severity(std::string_view text);

/// Every severity with its name, in increasing urgency (for config choices and docs).
inline constexpr std::array<std::pair<std::string_view, Severity>, 3> kSeverities = {{
    {"info", Severity::info},
    {"warning", Severity::warning},
    {"critical", Severity::critical},
}};

}  // namespace tend::events
