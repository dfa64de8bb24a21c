#include "checks/config.hpp"

#include "config/fields.hpp"

namespace tend::checks {

config::SectionSpec section() { return {CheckConfig::kKind, "checks", read_check}; }

std::shared_ptr<const config::EntrySettings> read_check(config::MapReader& m, const std::string& name,
                                                        const config::ReadContext& ctx) {
  auto c = std::make_shared<CheckConfig>();
  c->name = name;
  const date::time_zone* zone = config::read_timezone(m).value_or(ctx.daemon.timezone);
  if (auto which = config::exactly_one(m, {"schedule", "every"})) {
    if (*which == "schedule") {
      c->schedule = config::read_schedule(m, zone);
    } else {
      m.read("every", c->every);
    }
  }
  m.read("grace", c->grace, config::kAnyDuration);
  config::read_severity(m, c->severity);
  return c;
}

}  // namespace tend::checks
