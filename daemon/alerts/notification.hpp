#pragma once
// One notification: what a notifier renders and the outbox stores. The fields are SPEC's generic
// webhook payload (version 1); Slack and Discord render the same facts in their native shapes.

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <string>

#include "util/expected.hpp"
#include "util/time.hpp"

namespace tend::alerts {

struct Notification {
  std::string id;                 // unique per notification; a retried delivery keeps it
  std::string notifier;           // who it goes to
  std::string status = "firing";  // firing | resolved
  std::string event;
  std::string severity = "critical";  // info | warning | critical
  std::string kind;                   // job | probe | watch | check | daemon
  std::string name;
  std::string summary;
  std::string detail;
  std::string host;
  std::string environment;
  WallTime started_at{};
  std::optional<WallTime> ended_at;  // resolved notifications
  int occurrences = 1;
  std::string reason = "firing";  // firing | repeat | escalation | resolved | test | digest | changed
  std::map<std::string, std::string> labels;
  WallTime created_at{};
};

/// SPEC's generic payload v1 (the webhook body), exactly: version, id, status, event, severity,
/// kind, name, summary, detail, host, environment, started_at, ended_at, occurrences, labels.
boost::json::object payload_v1(const Notification& n);

/// Storage form (payload v1 plus notifier, reason and created_at) and back.
std::string to_storage(const Notification& n);
Expected<Notification> from_storage(const std::string& text);

/// A new random id: 32 hex digits (128 bits from the system's CSPRNG).
std::string new_id();

/// "🚨", "⚠️", "ℹ️" or "✅" (resolved), as the chat notifiers prefix their text.
const char* emoji(const Notification& n);
/// The title line used by chat notifiers: "[production] FIRING critical · job backup failed ...".
std::string headline(const Notification& n);
/// At most `max` bytes of `text`, cut at a UTF-8 boundary; keeps the end (output tails are most
/// useful at their end) and marks the cut.
std::string keep_tail(const std::string& text, std::size_t max);

}  // namespace tend::alerts
