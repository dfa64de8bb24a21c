#pragma once
// Routing: which notifiers an alert goes to. Pure, so it is tested (and benchmarked) alone.

#include <string>
#include <vector>

#include "config/model.hpp"

namespace tend::alerts {

/// What a route's `match` looks at.
struct Labels {
  config::Severity severity = config::Severity::critical;
  std::string kind;
  std::string name;
  std::string environment;
};

/// Routes in order: the first match wins unless it says `continue: true`; notifier names in
/// first-seen order, each once. An empty result means no route matched (config validation
/// requires a default route whenever routes exist).
std::vector<std::string> route(const std::vector<config::Route>& routes, const Labels& labels);

}  // namespace tend::alerts
