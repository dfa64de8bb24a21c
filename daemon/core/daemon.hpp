#pragma once
// The daemon: owns every component in dependency order, wires them together, and carries the
// lifecycle (start, reload, wall-clock steps, liveness, two-phase stop).

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <random>
#include <string>

#include "alerts/heartbeat.hpp"
#include "alerts/manager.hpp"
#include "checks/manager.hpp"
#include "config/loader.hpp"
#include "control/server.hpp"
#include "events/event.hpp"
#include "http/client.hpp"
#include "jobs/manager.hpp"
#include "probes/manager.hpp"
#include "process/launcher.hpp"
#include "remedies/remedy.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "watches/manager.hpp"

namespace tend::core {

/// The version string (`tendd --version`, status document).
const char* version();

class Daemon {
 public:
  /// Build every component from a validated config. Throws on start-up failures (state dir,
  /// database, socket), with a message naming the path.
  Daemon(boost::asio::io_context& io, config::Config cfg, config::Sources sources);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Start jobs, listen, install signals, tell systemd we are ready.
  void start();
  /// Ask for a stop (also what SIGTERM/SIGINT do); the loop ends when everything is down.
  void request_stop();
  /// Reload the configuration file; `done` gets the reply document.
  void reload(std::function<void(boost::json::object)> done);

 private:
  void handle(const boost::json::object& req, const control::Peer& peer, control::Reply reply);
  boost::json::object status_document() const;
  void cmd_history(const boost::json::object& req, control::Reply reply);
  void cmd_output(const boost::json::object& req, control::Reply reply);
  void cmd_run(const boost::json::object& req, control::Reply reply);
  void cmd_pause(const boost::json::object& req, bool pause, control::Reply reply);
  void cmd_ping(const boost::json::object& req, control::Reply reply);
  void cmd_silence(const boost::json::object& req, const control::Peer& peer, control::Reply reply);
  void cmd_unsilence(const boost::json::object& req, control::Reply reply);
  void cmd_test_alert(const boost::json::object& req, const control::Peer& peer, control::Reply reply);
  void cmd_alerts(const boost::json::object& req, control::Reply reply);
  void on_reload_loaded(config::LoadResult result, WallTime started);
  void watch_signals();
  void watch_clock_steps();
  void arm_clock_step_timer();
  void schedule_liveness();
  void schedule_watchdog();
  void log_event(const events::Event& e);
  void drain_alerts(MonoTime deadline, std::function<void()> then);

  boost::asio::io_context& io_;
  config::Config cfg_;
  config::Sources sources_;
  std::string config_error_;
  WallTime started_at_{};
  WallTime config_loaded_at_{};
  SystemClock clock_;
  std::unique_ptr<process::Launcher> launcher_;
  std::unique_ptr<state::Store> store_;
  events::Bus bus_;
  std::mt19937_64 rng_;
  std::int64_t last_run_id_ = 0;
  jobs::Context job_ctx_;
  jobs::Manager jobs_;
  watches::Context watch_ctx_;
  watches::Manager watches_;
  checks::Context check_ctx_;
  checks::Manager checks_;
  std::unique_ptr<http::Client> http_;
  remedies::Context remedy_ctx_;
  probes::Context probe_ctx_;
  probes::Manager probes_;
  // Notifications and the heartbeat have their own HTTP client: however many probe targets hang,
  // an alert never waits behind them for a transfer slot.
  std::unique_ptr<http::Client> alert_http_;
  alerts::Manager alerts_;
  alerts::Heartbeat heartbeat_;
  std::unique_ptr<control::Server> control_;
  boost::asio::signal_set signals_;
  boost::asio::posix::stream_descriptor clock_fd_;
  boost::asio::thread_pool blocking_{1};  // config file reads: disk stays off the loop
  std::unique_ptr<TimerHandle> liveness_timer_;
  std::unique_ptr<TimerHandle> watchdog_timer_;
  std::unique_ptr<TimerHandle> stop_deadline_;
  std::unique_ptr<TimerHandle> drain_timer_;
  std::int64_t liveness_ticks_ = 0;
  std::optional<std::chrono::milliseconds> wall_offset_;  // wall - monotonic at the last liveness tick
  bool reloading_ = false;
  std::vector<std::function<void(boost::json::object)>> reload_waiters_;
  bool reload_again_ = false;
  bool stopping_ = false;
};

}  // namespace tend::core
