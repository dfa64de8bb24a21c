#pragma once
// The contract every entry kind (jobs, probes, watches, checks) fulfils, so the daemon, the socket
// commands, status, reload, alerting and metrics handle "an entry" without naming kinds. A kind is
// one folder: its settings and their reader, a class deriving from Entry, and a KindSpec
// registered on one line (daemon/plugins/).

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/expected.hpp"
#include "util/lifetime.hpp"
#include "util/pause.hpp"

namespace spdlog {
class logger;
}
namespace tend::metrics {
class Collector;
}

namespace tend::entries {

/// What the previous instance of the daemon left about an entry.
struct Saved {
  std::optional<state::RunRecord> last;  // its newest history record (output omitted)
  std::optional<WallTime> last_tick;     // the last schedule tick it handled
  bool boot = true;                      // daemon start (false: added by a reload)
};

/// Called with the final record of a run (`tend run --wait`).
using RunDone = std::function<void(const state::RunRecord&)>;

/// Output of a run in progress: its run id and the captured tail so far.
struct LiveOutput {
  std::int64_t run_id = 0;
  std::string output;
};

class Entry {
 public:
  /// `logger` is the kind's module logger; log lines read "KIND=NAME event=...".
  Entry(std::string_view kind, std::string name, Clock& clock, std::shared_ptr<spdlog::logger> logger);
  virtual ~Entry();
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  [[nodiscard]] std::string_view kind() const { return kind_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  /// The settings it runs with (compared with a reloaded configuration).
  [[nodiscard]] virtual const config::EntrySettings& settings() const = 0;

  /// Begin: plan timers, open files, restore what `saved` says. Returns how many scheduled ticks
  /// passed while the daemon was down (for the unclean-start alert).
  virtual int start(const Saved& saved) = 0;
  /// New settings of the same kind (reload found them changed): keep state, re-plan.
  virtual void update(const config::EntryConfig& cfg) = 0;
  /// Removed by a reload: stop scheduling; what is in progress may finish.
  virtual void retire() = 0;
  /// The daemon stops: stop everything, `done` once nothing of this entry runs any more.
  virtual void shutdown(std::function<void()> done);
  /// The wall clock stepped: re-plan wall-clock timers.
  virtual void replan() {}
  /// How long shutdown() may take at most (a job's kill_grace).
  [[nodiscard]] virtual Duration stop_grace() const { return Duration(0); }

  /// Hold scheduling (jobs), probing and remedies (probes), events (watches, checks) until
  /// `until` or resume().
  void pause(std::optional<WallTime> until);
  void resume();
  /// Paused now (a pause past its end counts as over).
  [[nodiscard]] bool paused() const;
  [[nodiscard]] const std::optional<WallTime>& paused_until() const { return pause_.until(); }

  /// This entry in `tend status --json` (SPEC "Status and history documents").
  [[nodiscard]] virtual boost::json::object status_entry() const = 0;
  /// Its series for /metrics and `tend metrics` (docs/metrics.md): tend_entry_state and
  /// tend_entry_paused (through entry_series), then the kind's own tend_KIND_* families. Labels
  /// are its name and fixed sets only: never URLs, output or reasons.
  virtual void metrics(metrics::Collector& c) const = 0;
  /// One line about its last 24 hours for the daily digest.
  [[nodiscard]] virtual std::string digest_line(const state::EntrySummary& s) const;

  // Capabilities some kinds have (the socket's run, output and ping); the defaults say this kind
  // has none.
  /// Start a run now; its run id, or why not.
  virtual Expected<std::int64_t> run_now(RunDone on_done);
  /// The output of the run in progress, if one is.
  [[nodiscard]] virtual std::optional<LiveOutput> live_output() const { return std::nullopt; }
  /// A report from outside (`tend ping`/`tend exec`): the reply document, or why it was refused.
  virtual Expected<boost::json::object> report(const boost::json::object& request, WallTime now);

 protected:
  /// What resuming means for the kind beyond ending the pause (re-raise, re-plan).
  virtual void on_resume() {}
  /// The fields every status entry starts with: kind, name, state, paused, paused_until,
  /// silenced_until (null here: alerting owns silences and fills it in).
  [[nodiscard]] boost::json::object status_head(std::string_view state) const;
  /// The series every entry has, for metrics(): tend_entry_state{kind,name,state} (1 for
  /// `state`) and tend_entry_paused{kind,name}.
  void entry_series(metrics::Collector& c, std::string_view state) const;
  [[nodiscard]] const std::shared_ptr<spdlog::logger>& logger() const { return logger_; }

  /// Guards the callbacks this entry hands out (timers, replies, exits). Derived classes use it.
  Lifetime lifetime_;

 private:
  std::string_view kind_;
  std::string name_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> logger_;
  Pause pause_;
};

}  // namespace tend::entries
