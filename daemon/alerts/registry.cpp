// The one table of notifier types. Adding one = its file (defining its NotifierType) + one line here.

#include <algorithm>
#include <vector>

#include "alerts/notifier.hpp"

namespace tend::alerts {

extern const NotifierType slack_type, discord_type, webhook_type, pagerduty_type;

namespace {
const NotifierType* const kTypes[] = {&slack_type, &discord_type, &webhook_type, &pagerduty_type};
}  // namespace

std::span<const NotifierType* const> notifier_types() { return kTypes; }

std::unique_ptr<Notifier> make_notifier(const config::NotifierConfig& cfg) {
  for (const auto* t : kTypes) {
    if (t->type == cfg.type) {
      return t->make(cfg);
    }
  }
  return nullptr;
}

bool groups_messages(const std::string& type) {
  for (const auto* t : kTypes) {
    if (t->type == type) {
      return t->groups;
    }
  }
  return false;
}

std::vector<config::NotifierType> config_types() {
  std::vector<config::NotifierType> out;
  for (const auto* t : kTypes) {
    out.push_back({t->type, t->read});
  }
  return out;
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
