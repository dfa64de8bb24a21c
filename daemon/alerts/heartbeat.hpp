#pragma once
// The outbound dead-man's switch (daemon.heartbeat): a GET to the configured URL every
// interval, from the event loop itself, so the outside service (Healthchecks.io, Uptime Kuma,
// a cron monitor) hears nothing when the box, the daemon or its loop is gone. Failures are
// logged on change (not every interval) and shown in status; the URL never is, only its origin.

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/model.hpp"
#include "http/client.hpp"
#include "util/clock.hpp"

namespace tend::metrics {
class Collector;
}

namespace tend::alerts {

class Heartbeat {
 public:
  Heartbeat(Clock& clock, http::Client& http);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  /// Start, change or (nullopt) stop; a changed config pings at once.
  void configure(const std::optional<config::HeartbeatConfig>& cfg);
  void stop();
  [[nodiscard]] boost::json::object status() const;
  /// tend_heartbeat_pings_total{result} and its last success (alerts/metrics.cpp); nothing when
  /// no heartbeat is configured.
  void metrics(metrics::Collector& c) const;

 private:
  void ping();
  void schedule();

  Clock& clock_;
  http::Client& http_;
  std::optional<config::HeartbeatConfig> cfg_;
  std::unique_ptr<http::Handle> in_flight_;
  std::unique_ptr<TimerHandle> timer_;
  MonoTime next_{};
  std::optional<WallTime> last_ok_;
  std::string last_error_;
  std::uint64_t sent_ = 0;
  std::uint64_t failed_ = 0;
  bool failing_ = false;
};

}  // namespace tend::alerts
