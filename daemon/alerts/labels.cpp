#include "alerts/labels.hpp"

#include "util/names.hpp"

namespace tend::alerts {

std::string label(const Alert& a, std::string_view name, const Origin& origin) {
  if (name == "kind") {
    return a.kind;
  }
  if (name == "event") {
    return a.event;
  }
  if (name == "severity") {
    return events::to_string(a.severity);
  }
  if (name == "environment") {
    return origin.environment;
  }
  if (name == "host") {
    return origin.host;
  }
  if (name == "name") {
    return a.name;
  }
  if (name.starts_with("labels.")) {
    auto it = a.labels.find(std::string(name.substr(7)));
    return it == a.labels.end() ? std::string() : it->second;
  }
  return {};
}

bool matches(const config::Matcher& m, const Alert& a, const Origin& origin) {
  for (const auto& [name, want] : m.labels) {
    const std::string have = label(a, name, origin);
    if (name == "name" ? !glob_match(want, have) : want != have) {
      return false;
    }
  }
  return true;
}

std::string describe(const config::Matcher& m) {
  std::string out;
  for (const auto& [name, want] : m.labels) {
    out += (out.empty() ? "" : " ") + name + "=" + want;
  }
  return out.empty() ? "any" : out;
}

}  // namespace tend::alerts
