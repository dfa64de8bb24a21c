#pragma once
// One notification: what a notifier renders and the outbox stores. The fields are SPEC's generic
// webhook payload (version 1); Slack and Discord render the same facts in their native shapes.

#include <boost/json/object.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

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
  /// Grouping (alerts.group_by): notifications of one group key go out as one message, not
  /// before `not_before` (group_wait, then group_interval). Empty: sent on its own, at once.
  std::string group_key;
  std::optional<WallTime> not_before;
};

/// A message for several notifications of one group (one notifier).
struct GroupMessage {
  std::string id;   // stable: derived from the members' ids
  std::string key;  // the group key
  std::vector<Notification> members;
};

/// The id of a group message of these members: the same members, the same id, whatever order
/// and however often it is composed (a retry, a restart).
std::string group_id(const std::vector<Notification>& members);

/// What a group message says as a whole: the members' common fields (others empty), status
/// firing while any member fires, the highest severity, the earliest start, the group's id and
/// a summary counting the members by state ("12 alerts of probes (down): 10 firing, 2 resolved").
Notification group_top(const GroupMessage& g);

/// One line per member ("🚨 probe api down: ..."), as many as fit in `max_chars`, then "… and
/// N more"; `escape` is applied to the summaries (a chat service's markup).
std::string member_lines(const GroupMessage& g, std::size_t max_chars,
                         const std::function<std::string(const std::string&)>& escape);

/// The most a group's member list adds to a webhook body (receivers commonly refuse over 1 MiB).
inline constexpr std::size_t kMaxGroupMembersBytes = std::size_t{256} * 1024;

/// payload v1 of a group (the webhook body): the members' common fields at top level (status
/// firing while any member fires, severity the highest), plus "group": {"key", "count" (members),
/// "omitted" (members left out of the list: over max_bytes), "members": [each listed member's
/// payload v1 without "version"]}.
boost::json::object group_payload_v1(const GroupMessage& g, std::size_t max_bytes = kMaxGroupMembersBytes);

/// SPEC's generic payload v1 (the webhook body), exactly: version, id, status, event, severity,
/// kind, name, summary, detail, host, environment, started_at, ended_at, occurrences, labels.
boost::json::object payload_v1(const Notification& n);

/// Storage form: payload v1 plus notifier, reason and created_at (Boost.JSON value_from/value_to).
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Notification& n);
Notification tag_invoke(boost::json::value_to_tag<Notification>, const boost::json::value& v);
/// The storage form as text, and back (an error says what is wrong with the text).
std::string to_storage(const Notification& n);
Expected<Notification> from_storage(const std::string& text);

/// A new random id: 32 hex digits (128 bits from the system's CSPRNG).
std::string new_id();

/// "🚨", "⚠️", "ℹ️" or "✅" (resolved), as the chat notifiers prefix their text.
const char* emoji(const Notification& n);
/// The title line used by chat notifiers: "[production] FIRING critical · job backup failed ...".
std::string headline(const Notification& n);

}  // namespace tend::alerts
