#pragma once
// An alert's labels, as routes, group_by and inhibit rules name them: kind, event, severity,
// environment, host, name, and labels.NAME for what its entry attached.

#include <string>
#include <string_view>

#include "alerts/alert.hpp"
#include "config/model.hpp"

namespace tend::alerts {

/// Where the alerts come from (host and environment are the daemon's).
struct Origin {
  std::string host;
  std::string environment;
};

/// The value of label `name` of `a` ("" when it has none).
std::string label(const Alert& a, std::string_view name, const Origin& origin);

/// Whether `a` has every label `m` asks for (`name` as a glob).
bool matches(const config::Matcher& m, const Alert& a, const Origin& origin);

/// "kind=probe event=down": a matcher as people wrote it, for the alert log.
std::string describe(const config::Matcher& m);

}  // namespace tend::alerts
