#pragma once
// One configured watch at run time: follows its access log, counts requests and 5xx responses
// in a sliding window, holds the state (ok | warning | critical) and publishes `error_rate`
// events when the state changes.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "events/event.hpp"
#include "util/clock.hpp"
#include "util/pause.hpp"
#include "watches/follower.hpp"
#include "watches/parse.hpp"
#include "watches/window.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::watches {

/// What watches need from the daemon. Every member is a seam tests may replace.
struct Context {
  boost::asio::io_context& io;  // the loop: inotify descriptors and posted reads
  Clock& clock;
  events::Bus& bus;
};

enum class State { ok, warning, critical };
const char* to_string(State s);

struct Status {
  State state = State::ok;
  bool paused = false;
  std::optional<WallTime> paused_until;
  double rate = 0;                   // percent of the requests in the window that were 5xx
  std::uint64_t requests = 0;        // in the window
  std::uint64_t errors = 0;          // 5xx in the window
  std::uint64_t unparsed = 0;        // lines that were not requests, since start
  std::uint64_t lines = 0;           // lines read, since start
  std::uint64_t total_requests = 0;  // requests counted, since start
  std::optional<WallTime> last_evaluated;
  std::optional<WallTime> state_since;
  std::string summary;  // "7.5% 5xx (15 of 200 requests in 5m)"
  Follower::Stats file;
};

class Watch {
 public:
  Watch(Context& ctx, config::WatchConfig cfg);
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  /// Follow the file (from its end) and evaluate once a second.
  void start();
  /// Replace the configuration (reload found it changed). A new file, format or status field
  /// restarts following; a new window length starts an empty window.
  void update(config::WatchConfig cfg);
  /// Stop following and evaluating (removed by reload, or the daemon stops).
  void retire();
  /// Raise no firing events until `until` (or resume()); counting goes on.
  void pause(std::optional<WallTime> until);
  void resume();

  /// Count one line as arrived now (what the follower calls; tests call it directly).
  void ingest(std::string_view line, bool overlong = false);
  /// Move counted lines into the window, compute the rate and state, publish changes.
  void evaluate();

  [[nodiscard]] Status status() const;
  [[nodiscard]] const config::WatchConfig& config() const { return cfg_; }

 private:
  void start_following();
  void arm_timer();
  void publish_changes(const Window::Totals& totals, double rate);
  void note_unparsed(std::string_view line);
  [[nodiscard]] bool paused_now() const;
  /// How long a lower state must hold before the watch steps down to it.
  [[nodiscard]] Duration settle_time() const;
  [[nodiscard]] std::string figures(const Window::Totals& totals, double rate) const;

  Context& ctx_;
  config::WatchConfig cfg_;
  LineParser parser_;
  Window window_;
  std::unique_ptr<Follower> follower_;
  std::unique_ptr<TimerHandle> eval_timer_;
  bool retired_ = false;
  Pause pause_;

  // Counted since the last evaluate(), not yet in the window (one clock read per batch).
  std::uint64_t pending_requests_ = 0;
  std::uint64_t pending_errors_ = 0;

  std::uint64_t lines_ = 0;
  std::uint64_t total_requests_ = 0;
  std::uint64_t unparsed_ = 0;
  std::uint64_t unparsed_logged_ = 0;
  std::optional<MonoTime> unparsed_log_at_;

  State state_ = State::ok;
  State published_ = State::ok;          // what the event stream was last told
  std::optional<MonoTime> lower_since_;  // since when the measured state is below state_
  Window::Totals totals_;
  double rate_ = 0;
  std::optional<WallTime> last_evaluated_;
  std::optional<WallTime> state_since_;
};

}  // namespace tend::watches
