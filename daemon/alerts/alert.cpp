#include "alerts/alert.hpp"

#include <boost/json.hpp>
#include <stdexcept>

namespace tend::alerts {

namespace json = boost::json;

namespace {

json::value time_or_null(const std::optional<WallTime>& t) {
  return t ? json::value(format_iso8601(*t)) : json::value(nullptr);
}

WallTime time_at(const json::object& o, const char* key) {
  auto t = parse_iso8601(json::value_to<std::string>(o.at(key)));
  if (!t) {
    throw std::invalid_argument(std::string("'") + key + "' is not an ISO-8601 time");
  }
  return *t;
}

}  // namespace

void tag_invoke(json::value_from_tag, json::value& v, const Alert& a) {
  v = json::object{{"kind", a.kind},
                   {"name", a.name},
                   {"event", a.event},
                   {"severity", events::to_string(a.severity)},
                   {"summary", a.summary},
                   {"detail", a.detail},
                   {"labels", json::value_from(a.labels)},
                   {"started_at", format_iso8601(a.started_at)},
                   {"occurrences", a.occurrences},
                   {"notified_occurrences", a.notified_occurrences},
                   {"notifiers", json::value_from(a.notifiers)},
                   {"instant", a.instant},
                   {"suppressed", a.suppressed},
                   {"escalated", a.escalated},
                   {"held", a.held},
                   {"inhibited", a.inhibited},
                   {"last_notified", time_or_null(a.last_notified)}};
}

Alert tag_invoke(json::value_to_tag<Alert>, const json::value& v) {
  const auto& o = v.as_object();
  Alert a;
  a.kind = json::value_to<std::string>(o.at("kind"));
  a.name = json::value_to<std::string>(o.at("name"));
  a.event = json::value_to<std::string>(o.at("event"));
  auto severity = events::parse_severity(json::value_to<std::string>(o.at("severity")));
  if (!severity) {
    throw std::invalid_argument("unknown severity");
  }
  a.severity = *severity;
  a.summary = json::value_to<std::string>(o.at("summary"));
  a.detail = json::value_to<std::string>(o.at("detail"));
  a.labels = json::value_to<std::map<std::string, std::string>>(o.at("labels"));
  a.started_at = time_at(o, "started_at");
  a.occurrences = std::max(1, json::value_to<int>(o.at("occurrences")));
  a.notified_occurrences = json::value_to<int>(o.at("notified_occurrences"));
  a.notifiers = json::value_to<std::vector<std::string>>(o.at("notifiers"));
  a.instant = json::value_to<bool>(o.at("instant"));
  a.suppressed = json::value_to<bool>(o.at("suppressed"));
  a.escalated = json::value_to<bool>(o.at("escalated"));
  a.held = json::value_to<bool>(o.at("held"));
  if (const auto* inhibited = o.if_contains("inhibited")) {  // absent in records of older versions
    a.inhibited = json::value_to<bool>(*inhibited);
  }
  if (const auto& t = o.at("last_notified"); !t.is_null()) {
    a.last_notified = time_at(o, "last_notified");
  }
  if (a.kind.empty() || a.name.empty() || a.event.empty()) {
    throw std::invalid_argument("kind, name and event must not be empty");
  }
  return a;
}

}  // namespace tend::alerts
