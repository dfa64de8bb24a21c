#pragma once
// SPEC's Events table as data: every kind of alert tend can raise, with its default severity and
// whether it is a condition (fires, later resolves) or a moment (nothing ever resolves it).
// Producers name their events through these constants; alerting reads the properties from here
// instead of comparing strings.

#include <span>
#include <string_view>
#include <vector>

#include "events/severity.hpp"

namespace tend::events {

struct EventType {
  std::string_view kind;  // job | probe | watch | check | daemon
  std::string_view name;  // failure | timeout | down | ...
  Severity severity;      // the default; an entry's `severity:` overrides its critical events
  /// A moment rather than a condition (missed, restarted, ...): notified once, grouped for one
  /// repeat interval, then closed quietly; it has no resolve.
  bool instant = false;
  /// Judged afresh after a restart (a watch's window starts empty): a firing alert of this type
  /// is resolved at start, with the reason, and fires again if the condition still holds.
  bool resets_on_restart = false;
  /// A report sent through the routes (the digest, a test message), never an alert with a
  /// lifecycle, never published on the bus.
  bool report = false;
};

/// The catalogue, one constant per row of SPEC's Events table (plus the two reports).
namespace types {
extern const EventType job_failure;
extern const EventType job_timeout;
extern const EventType job_slow;
extern const EventType job_missed;
extern const EventType job_digest;  // report: `builtin: digest`
extern const EventType probe_down;
extern const EventType probe_restarted;
extern const EventType probe_restart_failed;
extern const EventType probe_restart_limit;
extern const EventType probe_cert_expiring;
extern const EventType watch_error_rate;
extern const EventType check_late;
extern const EventType check_failure;
extern const EventType daemon_unclean_start;
extern const EventType daemon_config_rejected;
extern const EventType daemon_delivery_failed;
extern const EventType daemon_state_reset;
extern const EventType daemon_state_write_failed;
extern const EventType daemon_cluster_degraded;
extern const EventType daemon_test;  // report: `tend test-alert`
}  // namespace types

/// Every event type, in SPEC's order.
std::span<const EventType* const> catalogue();

/// The type `kind`/`name`, or nullptr (e.g. a record written by another version).
const EventType* find_type(std::string_view kind, std::string_view name);

/// The distinct kinds of the catalogue, in order (job, probe, watch, check, daemon): what a
/// route's `match.kind` may name.
const std::vector<std::string_view>& kinds();

/// The severity an event of `type` carries for an entry configured with `entry_severity`: the
/// entry's choice for the type's critical events, the type's own default otherwise.
Severity severity_for(const EventType& type, Severity entry_severity);

}  // namespace tend::events
