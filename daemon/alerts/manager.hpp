#pragma once
// The alerting engine. It subscribes to the event stream and turns events into alerts with a
// lifecycle, as Alertmanager does: an alert is identified by (kind, name, event); it is notified
// when it starts firing, grouped while it keeps firing (a burst of 1,000 failures is one
// notification whose `occurrences` counts them), re-notified every `repeat_interval` with the
// count, escalated once after `escalate.after`, and notified once resolved. Events that never
// resolve by themselves (missed, restarted, restart_failed, unclean_start, delivery_failed)
// are notified once and then grouped for one `repeat_interval`: a repeat goes out only when
// more occurred. A watch changing severity is a new notification. Silences mute notifications,
// never the record: every observation is in the alert log. Firing alerts and silences survive a
// restart (state database); notifications go through the durable Outbox.

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerts/outbox.hpp"
#include "alerts/routing.hpp"
#include "config/model.hpp"
#include "events/event.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"

namespace tend::alerts {

/// What a builtin digest run produced.
struct DigestResult {
  bool ok = false;
  std::string reason;  // one line
  std::string text;    // the report (the run's output)
};

class Manager {
 public:
  explicit Manager(Context ctx);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  /// Take the configuration and what the previous instance left (outbox, silences, alerts).
  void start(const config::Config& cfg, const state::Loaded& loaded);
  /// A reloaded configuration: routes, timings and notifiers change; firing alerts stay.
  void apply(const config::Config& cfg);
  /// One event from the bus.
  void on_event(const events::Event& e);
  void shutdown();

  /// Mute `target` (an entry name, or "*" for all) for `duration`.
  Expected<state::SilenceRecord> silence(const std::string& target, Duration duration, const std::string& reason,
                                         const std::string& by);
  /// Remove the silence on `target` ("*": every silence). Returns how many were removed.
  int unsilence(const std::string& target);
  /// When the mute on `name` ends (the later of its own and the global one), if muted now.
  [[nodiscard]] std::optional<WallTime> silenced_until(const std::string& name) const;

  /// Send a test notification to one notifier now: done(ok, message).
  void test_alert(const std::string& notifier, const std::string& by, std::function<void(bool, std::string)> done);
  /// The daily digest of job `job` (builtin: digest): per-entry figures of the last 24 h, sent to
  /// the routes an info alert of that job takes.
  void digest(const std::string& job, std::function<void(DigestResult)> done);

  /// `alerts` section of the status document: firing, silences, notifiers (targets redacted).
  [[nodiscard]] boost::json::object status() const;
  [[nodiscard]] std::uint64_t given_up() const { return outbox_.given_up(); }
  /// Notifications being written or on the wire right now (not those waiting for a retry).
  [[nodiscard]] std::size_t in_flight() const { return outbox_.in_flight(); }

 private:
  struct Alert;

  void drop_removed(const config::Config& cfg);
  Alert& add(const std::string& key, const events::Event& e);
  /// The first word about a new alert: notified, or held, unrouted or silenced (then logged).
  void tell_first(Alert& a, const std::vector<std::string>& to);
  void open(const events::Event& e, const std::string& key);
  void observe(Alert& a, const events::Event& e);
  void close(const std::string& key, const events::Event& e);
  void notify(Alert& a, const std::string& reason, const std::vector<std::string>& to);
  void arm_timers(Alert& a);
  void on_repeat(const std::string& key);
  void on_escalate(const std::string& key);
  void on_give_up(const Notification& n, const std::string& error);
  void persist(const Alert& a);
  void record(Alert& a, const std::string& status, const std::string& action, const std::vector<std::string>& to);
  void arm_silence_timer();
  void expire_silences();
  /// Remove the silences `which` selects, then tell what they held back; returns how many.
  int end_silences(const std::function<bool(const std::string&, const state::SilenceRecord&)>& which, const char* why);
  void release(const std::string& target);
  [[nodiscard]] bool muted(const std::string& name) const;
  [[nodiscard]] Notification make(const Alert& a, const std::string& reason, const std::string& notifier) const;

  Context ctx_;
  Outbox outbox_;
  std::string host_;
  std::string environment_;
  config::AlertsConfig cfg_;
  std::map<std::string, std::unique_ptr<Alert>> alerts_;
  std::map<std::string, state::SilenceRecord> silences_;
  std::unique_ptr<TimerHandle> silence_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// Events that report a moment, not a condition: nothing ever resolves them.
bool is_instant(const std::string& event);

}  // namespace tend::alerts
