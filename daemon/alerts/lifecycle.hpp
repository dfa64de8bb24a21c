#pragma once
// The alert state machine, pure: events and the passing of time go in, decisions come out as
// Effects (what to send to whom, what to write to the alert log and the state database); no I/O,
// no timers, no clock. An alert is identified by (kind, name, event), as Alertmanager does:
// notified when it starts firing, grouped while it keeps firing (a burst of 1,000 failures is one
// notification whose `occurrences` counts them), re-notified every `repeat_interval` with the
// count, escalated once after `escalate.after`, notified once resolved. Moments (missed,
// restarted, ...: EventType::instant) are notified once, grouped for one repeat interval, then
// closed quietly. A watch changing severity is a new notification. Silences mute notifications,
// never the record. The engine (engine.cpp) carries the Effects out.

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerts/alert.hpp"
#include "alerts/labels.hpp"
#include "config/model.hpp"
#include "events/event.hpp"
#include "state/store.hpp"

namespace tend::alerts {

/// Why a notification goes out.
enum class Reason { firing, repeat, escalation, resolved, changed, flapping };
const char* to_string(Reason r);

/// What the lifecycle asks of the world around it (routing, silences); the engine answers.
class Decisions {
 public:
  virtual ~Decisions() = default;
  /// The notifiers an alert's notification goes to (routing).
  [[nodiscard]] virtual std::vector<std::string> route(const Alert& a) const = 0;
  /// Whether notifications about `name` are muted at `now`.
  [[nodiscard]] virtual bool muted(const std::string& name, WallTime now) const = 0;
};

/// What one step decided, in order.
struct Effects {
  struct Send {
    Alert alert;  // as it is now
    Reason reason;
    std::vector<std::string> to;
  };
  struct Write {
    std::string key;
    std::optional<Alert> alert;  // nullopt: delete
  };
  std::vector<Send> sends;
  std::vector<state::AlertLogRecord> log;
  std::vector<Write> writes;
};

class Lifecycle {
 public:
  explicit Lifecycle(const Decisions& decisions) : decisions_(decisions) {}

  /// The timings, resolve, inhibit and flapping policy (a reload may change them; due times
  /// follow), and where alerts come from (labels host and environment).
  void configure(const config::AlertsConfig& policy, Origin origin = {});

  /// An alert the previous instance left firing. Types judged afresh after a restart
  /// (EventType::resets_on_restart) are closed instead, telling whoever was told it fired.
  void restore(Alert a, WallTime now, Effects& out);
  /// One event from the bus. `variant` makes the key distinct per value (delivery_failed per
  /// notifier); `exclude` is left out of its routes (the notifier that failed).
  void observe(const events::Event& e, WallTime now, Effects& out, const std::string& variant = {},
               const std::string& exclude = {});
  /// Close every alert of an entry that no longer exists (`keep(name)` false).
  void drop_removed(const std::function<bool(const std::string&)>& keep, WallTime now, Effects& out);
  /// Repeats, escalations and expiries due at `now`.
  void tick(WallTime now, Effects& out);
  /// A silence on `target` ("*": all) ended: what began or changed under it and still holds is
  /// told now rather than at its next repeat.
  void release(const std::string& target, WallTime now, Effects& out);

  /// When tick() next has something to do.
  [[nodiscard]] std::optional<WallTime> next_due() const;
  /// Every firing alert, by key.
  [[nodiscard]] const std::map<std::string, std::unique_ptr<Alert>>& alerts() const { return alerts_; }
  /// The inhibit rule holding `a` back while one of its sources fires ("" when none).
  [[nodiscard]] std::string inhibition(const Alert& a) const;
  /// Whether the alert of `key` is flapping (kept quiet until stable for a window).
  [[nodiscard]] bool flapping(const std::string& key) const {
    const auto it = flaps_.find(key);
    return it != flaps_.end() && it->second.flapping;
  }

 private:
  enum class Due { repeat, escalation, flap };
  /// State changes of one alert key (it outlives the alert: a resolve erases that).
  struct Flap {
    std::deque<WallTime> changes;  // firings and resolves within the window
    bool flapping = false;
    std::optional<Alert> last;  // as it last was, for the final resolve after a flap
    std::vector<std::string> told;
  };
  /// Count a firing or a resolve; true when the alert is (now) flapping and must stay quiet.
  bool flip(const Alert& a, WallTime now, Effects& out);
  void on_stable(const std::string& key, WallTime now, Effects& out);
  /// Tell what inhibit rules no longer hold back.
  void uninhibit(WallTime now, Effects& out);
  Alert& add(const std::string& key, const events::Event& e);
  void tell_first(Alert& a, std::vector<std::string> to, WallTime now, Effects& out);
  void open(const events::Event& e, const std::string& key, const std::string& exclude, WallTime now, Effects& out);
  void grow(Alert& a, const events::Event& e, WallTime now, Effects& out);
  void close(const std::string& key, const std::string& summary, const std::string& detail, WallTime at, WallTime now,
             Effects& out);
  void notify(Alert& a, Reason reason, const std::vector<std::string>& to, WallTime now, Effects& out);
  void record(Alert& a, const char* status, const char* action, const std::vector<std::string>& to, WallTime now,
              Effects& out, const std::string& note = {});
  void on_repeat(Alert& a, WallTime now, Effects& out);
  void on_escalate(Alert& a, WallTime now, Effects& out);
  void persist(const Alert& a, Effects& out);
  void erase(std::string key, Effects& out);
  /// Put `a`'s repeat and escalation into the due index.
  void reschedule(const Alert& a);
  void unschedule(const std::string& key);
  std::vector<std::string> route_without(const Alert& a, const std::string& exclude) const;

  const Decisions& decisions_;
  config::AlertsConfig policy_;
  Origin origin_;
  std::map<std::string, std::unique_ptr<Alert>> alerts_;
  std::map<std::string, Flap> flaps_;
  std::map<std::string, std::string> excluded_;  // key -> notifier its routes leave out
  std::set<std::tuple<WallTime, std::string, Due>> due_;
  std::map<std::string, std::vector<std::tuple<WallTime, std::string, Due>>> due_of_;
};

}  // namespace tend::alerts
