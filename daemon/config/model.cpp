#include "config/model.hpp"

#include <algorithm>

namespace tend::config {

bool same_settings(const std::shared_ptr<const EntrySettings>& a, const std::shared_ptr<const EntrySettings>& b) {
  if (!a || !b) {
    return !a && !b;
  }
  return a->same_as(*b);
}

const std::vector<std::string_view>& alert_label_names() {
  static const std::vector<std::string_view> names = {"kind", "event", "severity", "environment", "host", "name"};
  return names;
}

std::size_t Config::count(std::string_view kind) const {
  return static_cast<std::size_t>(
      std::count_if(entries.begin(), entries.end(), [&](const EntryConfig& e) { return e.kind == kind; }));
}

}  // namespace tend::config
