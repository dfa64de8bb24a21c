#include "alerts/routing.hpp"

#include <algorithm>

#include "util/names.hpp"

namespace tend::alerts {

namespace {

bool matches(const config::RouteMatch& m, const Labels& l) {
  return (!m.severity || *m.severity == l.severity) && (!m.kind || *m.kind == l.kind) &&
         (!m.name || glob_match(*m.name, l.name)) && (!m.environment || *m.environment == l.environment);
}

}  // namespace

std::vector<std::string> route(const std::vector<config::Route>& routes, const Labels& labels) {
  std::vector<std::string> out;
  for (const auto& r : routes) {
    if (!matches(r.match, labels)) {
      continue;
    }
    for (const auto& n : r.notify) {
      if (std::find(out.begin(), out.end(), n) == out.end()) {
        out.push_back(n);
      }
    }
    if (!r.continue_matching) {
      break;
    }
  }
  return out;
}

}  // namespace tend::alerts
