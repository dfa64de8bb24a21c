#pragma once
// One configured watch at run time: follows its access log, counts requests and 5xx responses
// in a sliding window, holds the state (ok | warning | critical) and publishes `error_rate`
// events when the state changes.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "entries/entry.hpp"
#include "entries/kind.hpp"
#include "entries/services.hpp"
#include "events/event.hpp"
#include "util/clock.hpp"
#include "watches/config.hpp"
#include "watches/follower.hpp"
#include "watches/format.hpp"
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

  /// The watches' part of the daemon's services.
  static Context from(entries::Services& s) { return Context{s.io, s.clock, s.bus}; }
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

class Watch : public entries::Entry {
 public:
  Watch(Context ctx, std::shared_ptr<const WatchConfig> cfg);
  ~Watch() override;
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // entries::Entry
  [[nodiscard]] const config::EntrySettings& settings() const override { return *cfg_; }
  /// Follow the file (from its end) and evaluate once a second. Nothing is restored: the window
  /// starts empty.
  int start(const entries::Saved& saved) override;
  void update(const config::EntryConfig& cfg) override { update(cfg.shared<WatchConfig>()); }
  /// Stop following and evaluating (removed by reload, or the daemon stops).
  void retire() override;
  [[nodiscard]] boost::json::object status_entry() const override;
  /// tend_watch_*: requests and 5xx read, the window's error ratio and requests, unparsed lines.
  void metrics(metrics::Collector& c) const override;

  /// Replace the configuration (reload found it changed). A new file or format restarts
  /// following; a new window length starts an empty window.
  void update(std::shared_ptr<const WatchConfig> cfg);

  /// Count one line as arrived now (what the follower calls; tests call it directly).
  void ingest(std::string_view line, bool overlong = false);
  /// Move counted lines into the window, compute the rate and state, publish changes.
  void evaluate();

  [[nodiscard]] Status status() const;
  [[nodiscard]] const WatchConfig& config() const { return *cfg_; }

 protected:
  /// A condition that began while paused is raised now.
  void on_resume() override;

 private:
  void start_following();
  void arm_timer();
  void publish_changes(const Window::Totals& totals, double rate);
  void note_unparsed();
  /// How long a lower state must hold before the watch steps down to it.
  [[nodiscard]] Duration settle_time() const;
  [[nodiscard]] std::string figures(const Window::Totals& totals, double rate) const;

  Context ctx_;
  std::shared_ptr<const WatchConfig> cfg_;  // shared with the loaded config: not a copy per entry
  std::unique_ptr<LineParser> parser_;
  Window window_;
  std::unique_ptr<Follower> follower_;
  std::unique_ptr<TimerHandle> eval_timer_;
  bool retired_ = false;

  // Counted since the last evaluate(), not yet in the window (one clock read per batch).
  std::uint64_t pending_requests_ = 0;
  std::uint64_t pending_errors_ = 0;

  std::uint64_t lines_ = 0;
  std::uint64_t total_requests_ = 0;
  std::uint64_t total_errors_ = 0;  // 5xx, since start
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

/// The kind "watch" as registered (daemon/plugins/).
const entries::KindSpec& kind();

}  // namespace tend::watches
