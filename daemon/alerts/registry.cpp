#include <vector>

#include "alerts/notifier.hpp"

namespace tend::alerts {

std::unique_ptr<Notifier> make_notifier(const std::string& type) {
  if (type == "slack") {
    return make_slack();
  }
  if (type == "discord") {
    return make_discord();
  }
  if (type == "webhook") {
    return make_webhook();
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> facts(const Notification& n) {
  std::vector<std::pair<std::string, std::string>> out = {
      {"Kind", n.kind},
      {"Name", n.name},
      {"Event", n.event},
      {"Severity", n.severity},
      {"Host", n.host},
      {"Environment", n.environment},
      {"Started", format_iso8601(n.started_at)},
  };
  if (n.ended_at) {
    out.emplace_back("Ended", format_iso8601(*n.ended_at));
  }
  out.emplace_back("Occurrences", std::to_string(n.occurrences));
  for (const auto& [k, v] : n.labels) {
    if (!v.empty()) {
      out.emplace_back(k, v);
    }
  }
  std::erase_if(out, [](const auto& kv) { return kv.second.empty(); });
  return out;
}

}  // namespace tend::alerts
