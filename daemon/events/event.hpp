#pragma once
// The internal event stream: every result worth telling a person about becomes one Event of a
// type from the catalogue (SPEC "Events"). Producers (entries, the daemon) publish; consumers
// (the log, alerting) subscribe. Producers never know who listens.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "events/catalogue.hpp"
#include "util/time.hpp"

namespace tend::events {

enum class Status { firing, resolved };
const char* to_string(Status s);

struct Event {
  /// Always set: a row of the catalogue.
  const EventType* type = nullptr;
  std::string name;  // entry name ("backup"); "tendd" for daemon events
  Status status = Status::firing;
  Severity severity = Severity::critical;
  std::string summary;                        // one line for humans
  std::string detail;                         // output tail, reason, figures
  WallTime at{};                              // when observed
  std::map<std::string, std::string> labels;  // run_id, exit_code, downtime_s, ...
  /// Record it, never notify it: something else already handles the condition (a probe whose
  /// remedy has `notify: failures` tells people only when a restart fails).
  bool hold = false;

  /// An event of `type` about `name`, with the type's default severity.
  static Event of(const EventType& type, std::string name, Status status = Status::firing);
};

/// One log line per event ("kind=job name=backup event=failure status=firing ..."), on the
/// `events` logger: warnings for firing problems, info for resolves and info events.
void log_event(const Event& e);

/// Synchronous fan-out on the loop thread. Subscribers must not block.
class Bus {
 public:
  using Subscriber = std::function<void(const Event&)>;
  /// Add a subscriber; returns its id for unsubscribe().
  int subscribe(Subscriber s);
  void unsubscribe(int id);
  /// Deliver to every subscriber, in subscription order.
  void publish(const Event& e);

 private:
  std::vector<std::pair<int, Subscriber>> subscribers_;
  int next_id_ = 1;
};

}  // namespace tend::events
