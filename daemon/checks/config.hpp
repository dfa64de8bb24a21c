#pragma once
// A passive check's settings (`checks: NAME: {...}`) and their reader.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/plugins.hpp"
#include "schedule/schedule.hpp"

namespace tend::checks {

using namespace std::chrono_literals;

struct CheckConfig : config::Settings<CheckConfig> {
  static constexpr std::string_view kKind = "check";

  std::string name;
  std::optional<schedule::Schedule> schedule;  // either schedule...
  std::optional<Duration> every;               // ...or every
  Duration grace = 5min;
  config::Severity severity = config::Severity::critical;
  bool operator==(const CheckConfig&) const = default;
};

/// The `checks:` section: kind "check", read by read_check.
config::SectionSpec section();

/// Read one check's mapping.
std::shared_ptr<const config::EntrySettings> read_check(config::MapReader& m, const std::string& name,
                                                        const config::ReadContext& ctx);

}  // namespace tend::checks
