#pragma once
// The alerting engine: subscribes to the event stream and carries out what the alert lifecycle
// (lifecycle.hpp, pure) decides — notifications through the durable outbox, the alert log, the
// firing alerts and silences in the state database — with one timer for every repeat,
// escalation and silence end. It also sends reports through the routes (the digest builtin,
// test messages).
//
// Grouping (alerts.group_by): what the lifecycle sends is stamped with a group key (the values of
// the group_by labels and the notifiers of the alert's route, so a group never mixes routes) and
// a not_before, the group's next flush: group_wait after the group opened, then at most once per
// group_interval. The outbox sends what is due of one key as one message.

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerts/lifecycle.hpp"
#include "alerts/outbox.hpp"
#include "alerts/routing.hpp"
#include "alerts/silences.hpp"
#include "config/model.hpp"
#include "events/event.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"
#include "util/lifetime.hpp"

namespace tend::metrics {
class Collector;
}

namespace tend::alerts {

class Engine final : private Decisions {
 public:
  explicit Engine(Context ctx);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Take the configuration and what the previous instance left (outbox, silences, alerts).
  void start(const config::Config& cfg, const state::Loaded& loaded);
  /// A reloaded configuration: routes, timings and notifiers change; firing alerts stay, those of
  /// entries that are gone are resolved.
  void apply(const config::Config& cfg);
  /// One event from the bus.
  void on_event(const events::Event& e);
  void shutdown();

  /// Mute `target` (an entry name, or "*" for all) for `duration`; `reason` is kept to 500 bytes.
  Expected<state::SilenceRecord> silence(const std::string& target, Duration duration, const std::string& reason,
                                         const std::string& by);
  /// Remove the silence on `target` ("*": every silence). Returns how many were removed.
  int unsilence(const std::string& target);
  /// When the mute on `name` ends (the later of its own and the global one), if muted now.
  [[nodiscard]] std::optional<WallTime> silenced_until(const std::string& name) const;

  /// Cluster mode: whether this host sends notification `n` (send(true)) or another host of the
  /// cluster does (send(false)), decided before it is queued. The daemon's own conditions (kind
  /// daemon: cluster_degraded, state_write_failed, ...) are never claimed: each host tells its own.
  using Claim = std::function<void(const Notification& n, std::function<void(bool send)> send)>;
  void set_claim(Claim claim) { claim_ = std::move(claim); }

  /// Send a test notification to one notifier now: done(ok, message).
  void test_alert(const std::string& notifier, const std::string& by, std::function<void(bool, std::string)> done);
  /// Route a report (EventType::report, e.g. the digest) as an alert of its type about `name`
  /// would go, and queue it in the outbox; the notifiers it went to.
  std::vector<std::string> send_report(const events::EventType& type, const std::string& name, std::string summary,
                                       std::string detail);

  /// `alerts` section of the status document: firing, silences, notifiers (targets redacted).
  [[nodiscard]] boost::json::object status() const;
  /// Alerting's series: firing alerts by severity, silenced and inhibited ones, silences,
  /// notifications by notifier and result, outbox pending and oldest age (alerts/metrics.cpp).
  void metrics(metrics::Collector& c) const;
  [[nodiscard]] std::uint64_t given_up() const { return outbox_.given_up(); }
  /// Notifications being written or on the wire right now (not those waiting for a retry).
  [[nodiscard]] std::size_t in_flight() const { return outbox_.in_flight(); }
  /// Open groups (notifier, key, members firing, next flush), for `tend alerts`.
  [[nodiscard]] boost::json::array groups() const;

 private:
  // Decisions
  [[nodiscard]] std::vector<std::string> route(const Alert& a) const override;
  [[nodiscard]] bool muted(const std::string& name, WallTime now) const override;

  /// Carry out what the lifecycle decided, then re-arm the timer.
  void run(Effects& fx);
  void arm();
  void on_timer();
  void end_silences(const std::vector<std::string>& targets, const char* why);
  void drop_removed(const config::Config& cfg, Effects& fx);
  void on_give_up(const Notification& n, const std::string& error);
  [[nodiscard]] Notification make(const Alert& a, const std::string& reason, const std::string& notifier) const;
  /// Put `n` (of alert `a`, sent to `to`) in its group: set group_key and not_before.
  void know_notifiers(const config::Config& cfg);
  void join_group(Notification& n, const Alert& a, const std::vector<std::string>& to);
  void on_flushed(const std::string& notifier, const std::string& key, WallTime at);

  /// One group of one notifier, from its first member until it has flushed with no member firing.
  struct Group {
    std::set<std::string> firing;     // alert keys
    std::optional<WallTime> flushed;  // last message delivered
    std::optional<WallTime> next;     // not_before of the members queued (none: nothing queued)
  };

  Context ctx_;
  Outbox outbox_;
  std::string host_;
  std::string environment_;
  config::AlertsConfig cfg_;
  Lifecycle lifecycle_;
  Silences silences_;
  std::map<std::string, std::string> notifier_types_;            // notifier name -> type
  std::map<std::pair<std::string, std::string>, Group> groups_;  // (notifier, group key)
  std::unique_ptr<TimerHandle> timer_;
  Claim claim_;
  Lifetime lifetime_;
};

}  // namespace tend::alerts
