#pragma once
// One alert: an event type about one entry (kind, name, event) while it fires, and what the
// lifecycle knows of it. Persisted as JSON through Boost.JSON's value_from / value_to, so a firing
// alert survives a restart.

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events/catalogue.hpp"
#include "util/time.hpp"

namespace tend::alerts {

struct Alert {
  std::string key;  // "kind/name/event" (+ "/notifier" for delivery_failed)
  std::string kind;
  std::string name;
  std::string event;
  events::Severity severity = events::Severity::critical;
  std::string summary;
  std::string detail;
  std::map<std::string, std::string> labels;
  WallTime started_at{};
  int occurrences = 1;
  int notified_occurrences = 0;        // occurrences at the last notification
  std::vector<std::string> notifiers;  // where its notifications went (resolves follow them)
  bool instant = false;                // a moment (events::EventType::instant)
  bool suppressed = false;             // a notification was withheld by a silence
  bool escalated = false;
  bool held = false;       // recorded, never notified (events::Event::hold)
  bool inhibited = false;  // held back by an inhibit rule while its source fires
  std::optional<WallTime> last_notified;
  std::optional<WallTime> last_logged;  // the alert log's last line about it (not persisted)

  /// Its row of the catalogue, or nullptr (a record of another version).
  [[nodiscard]] const events::EventType* type() const { return events::find_type(kind, event); }
};

/// The JSON form of an alert (what the state database keeps while it fires).
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Alert& a);
/// An alert from its JSON form; throws std::exception (Boost.JSON's errors, std::invalid_argument)
/// when it is not one.
Alert tag_invoke(boost::json::value_to_tag<Alert>, const boost::json::value& v);

}  // namespace tend::alerts
