#pragma once
// One passive check at run time: jobs that run elsewhere (a crontab, another host, a worker)
// report in (`tend ping`, `tend exec`); the check raises `late` when no report arrives by the
// expected time plus grace, and `failure` when one reports a failure. Healthchecks.io semantics.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "checks/config.hpp"
#include "entries/entry.hpp"
#include "entries/kind.hpp"
#include "entries/services.hpp"
#include "events/event.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"

namespace tend::checks {

/// What checks need from the daemon. Every member is a seam tests may replace.
struct Context {
  Clock& clock;
  state::Store& store;
  events::Bus& bus;
  std::function<std::int64_t()> next_run_id;

  /// The checks' part of the daemon's services.
  static Context from(entries::Services& s) { return Context{s.clock, s.store, s.bus, s.next_run_id}; }
};

/// `new` until the first report; `late` when the deadline passed without one; `failing` after a
/// failure report; `up` after a success.
enum class State { fresh, up, late, failing };
const char* to_string(State s);

/// One report from the job.
struct Report {
  enum class What { start, success, fail, exit };
  What what = What::success;
  std::optional<int> exit_code;             // required with exit; 0 = success
  std::optional<std::int64_t> duration_ms;  // else measured from the open start, if any
  std::string output;                       // tail of the job's output (kept <= 64 KiB)
  std::string reason;                       // one line from the reporter ("timeout after 5m"), optional
};

/// Parse "start" | "success" | "fail" | "exit".
std::optional<Report::What> parse_what(std::string_view text);

/// A report as the socket's `ping` carries it (what, exit_code, duration_ms, output, reason),
/// checked and bounded: anyone who may open the socket may send one.
Expected<Report> parse_report(const boost::json::object& request);

struct Status {
  State state = State::fresh;
  bool paused = false;
  std::optional<WallTime> paused_until;
  std::optional<state::RunRecord> last;  // newest report (or late record), output omitted
  std::optional<WallTime> last_success;
  std::optional<WallTime> running_since;  // an open `start`
  std::optional<WallTime> expected;       // when the next report is due
  std::optional<WallTime> deadline;       // expected + grace: late after this
  int consecutive_failures = 0;
  std::string reason;  // why it is late or failing ("" when up)
};

class Check : public entries::Entry {
 public:
  /// Pings a check takes at once, and how many a second after that (excess ones are refused).
  static constexpr double kPingBurst = 20;
  static constexpr double kPingsPerSecond = 5;

  Check(Context ctx, std::shared_ptr<const CheckConfig> cfg);
  ~Check() override;
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;

  // entries::Entry
  [[nodiscard]] const config::EntrySettings& settings() const override { return *cfg_; }
  /// Restore from the newest history record (a restart neither forgets a failure nor restarts
  /// the clock of a check that was up), then arm the deadline (one already past makes the check
  /// late at once). A check that never reported counts from now.
  int start(const entries::Saved& saved) override;
  void update(const config::EntryConfig& cfg) override { update(cfg.shared<CheckConfig>()); }
  /// Stop the deadline (removed by reload, or the daemon stops).
  void retire() override;
  /// Re-plan the deadline timer (the wall clock stepped).
  void replan() override;
  [[nodiscard]] boost::json::object status_entry() const override;
  /// `tend ping` / `tend exec`: the request parsed and taken; the reply names the new state.
  Expected<boost::json::object> report(const boost::json::object& request, WallTime now) override;
  /// tend_check_*: last report, last success, failures in a row.
  void metrics(metrics::Collector& c) const override;

  /// Replace the configuration (reload found it changed); state stays, the deadline is re-planned.
  void update(std::shared_ptr<const CheckConfig> cfg);
  /// Take a report; returns the state after it. While paused, a deadline passing does not make
  /// the check late (resume starts a whole period); reports still count.
  State report(Report r);

  [[nodiscard]] Status status() const;
  [[nodiscard]] const CheckConfig& config() const { return *cfg_; }

 protected:
  void on_resume() override;

 private:
  void plan();
  void on_deadline();
  [[nodiscard]] std::optional<WallTime> expected_after(WallTime anchor) const;
  void publish(const events::EventType& type, events::Status status, std::string summary, std::string detail,
               std::map<std::string, std::string> labels);

  Context ctx_;
  std::shared_ptr<const CheckConfig> cfg_;  // shared with the loaded config: not a copy per entry
  State state_ = State::fresh;
  WallTime anchor_;  // the last end report (or when watching began): the next one is due after it
  std::optional<WallTime> open_start_;
  std::int64_t open_run_id_ = 0;
  std::optional<state::RunRecord> last_;
  std::optional<WallTime> last_success_;
  std::optional<WallTime> last_ping_;  // any report, since start
  std::optional<WallTime> expected_;
  std::optional<WallTime> deadline_;
  int consecutive_failures_ = 0;
  std::string reason_;
  bool late_firing_ = false;
  bool failure_firing_ = false;
  bool retired_ = false;
  bool missed_while_paused_ = false;  // a deadline passed during the pause
  // The ping rate limit (a token bucket on the monotonic clock): a flood from the socket costs
  // neither disk nor notifications.
  double ping_tokens_ = kPingBurst;
  std::optional<MonoTime> ping_refilled_;
  std::unique_ptr<TimerHandle> deadline_timer_;
};

/// The kind "check" as registered (daemon/plugins/).
const entries::KindSpec& kind();

}  // namespace tend::checks
