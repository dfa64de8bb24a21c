#pragma once
// The internal event stream: every result worth telling a person about becomes one typed Event
// (SPEC "Events"). Producers (jobs, probes, watches, checks, the daemon) publish; consumers (the
// log today, alert routing later) subscribe. Producers never know who listens.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "util/time.hpp"

namespace tend::events {

enum class Kind { job, probe, watch, check, daemon };
enum class Status { firing, resolved };

const char* to_string(Kind k);
const char* to_string(Status s);

struct Event {
  Kind kind = Kind::job;
  std::string name;   // entry name ("backup"); "tendd" for daemon events
  std::string event;  // failure|timeout|slow|missed|down|restarted|...|unclean_start|config_rejected
  Status status = Status::firing;
  config::Severity severity = config::Severity::critical;
  std::string summary;                        // one line for humans
  std::string detail;                         // output tail, reason, figures
  WallTime at{};                              // when observed
  std::map<std::string, std::string> labels;  // run_id, exit_code, downtime_s, ...
};

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
