#pragma once
// One passive check at run time: jobs that run elsewhere (a crontab, another host, a worker)
// report in (`tend ping`, `tend exec`); the check raises `late` when no report arrives by the
// expected time plus grace, and `failure` when one reports a failure. Healthchecks.io semantics.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/model.hpp"
#include "events/event.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/pause.hpp"

namespace tend::checks {

/// What checks need from the daemon. Every member is a seam tests may replace.
struct Context {
  Clock& clock;
  state::Store& store;
  events::Bus& bus;
  std::function<std::int64_t()> next_run_id;
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

class Check {
 public:
  /// `last` is the newest history record of this check, if any (restores state after a
  /// restart); `since` is when watching began (daemon start), the anchor of a check that has
  /// never reported.
  Check(Context& ctx, config::CheckConfig cfg, std::optional<state::RunRecord> last, WallTime since);
  ~Check();
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;

  /// Arm the deadline (a deadline already past makes the check late at once).
  void start();
  /// Replace the configuration (reload found it changed); state stays, the deadline is re-planned.
  void update(config::CheckConfig cfg);
  /// Stop the deadline (removed by reload, or the daemon stops).
  void retire();
  /// Re-plan the deadline timer (the wall clock stepped).
  void replan();
  /// Take a report; returns the state after it.
  State report(Report r);
  /// Raise no firing events until `until` (or resume()); a deadline passing while paused does
  /// not make the check late, and then resume() starts a whole period. Reports still count.
  void pause(std::optional<WallTime> until);
  void resume();

  [[nodiscard]] Status status() const;
  [[nodiscard]] const config::CheckConfig& config() const { return cfg_; }

 private:
  void plan();
  void on_deadline();
  [[nodiscard]] std::optional<WallTime> expected_after(WallTime anchor) const;
  [[nodiscard]] bool paused_now() const;
  void publish(const std::string& event, events::Status status, std::string summary, std::string detail,
               std::map<std::string, std::string> labels);

  Context& ctx_;
  config::CheckConfig cfg_;
  State state_ = State::fresh;
  WallTime anchor_;  // the last end report (or when watching began): the next one is due after it
  std::optional<WallTime> open_start_;
  std::int64_t open_run_id_ = 0;
  std::optional<state::RunRecord> last_;
  std::optional<WallTime> last_success_;
  std::optional<WallTime> expected_;
  std::optional<WallTime> deadline_;
  int consecutive_failures_ = 0;
  std::string reason_;
  bool late_firing_ = false;
  bool failure_firing_ = false;
  bool retired_ = false;
  bool missed_while_paused_ = false;  // a deadline passed during the pause
  Pause pause_;
  std::unique_ptr<TimerHandle> deadline_timer_;
};

}  // namespace tend::checks
