#pragma once
// The daemon: owns every component in dependency order, wires them together, and carries the
// lifecycle (start, reload, wall-clock steps, liveness, two-phase stop). What the components do
// lives in them: entries in their kinds' folders behind the registry, socket commands in
// commands/, alerting in alerts/.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "alerts/engine.hpp"
#include "alerts/heartbeat.hpp"
#include "builtins/builtins.hpp"
#include "commands/commands.hpp"
#include "config/loader.hpp"
#include "control/server.hpp"
#include "core/cluster_link.hpp"
#include "entries/registry.hpp"
#include "entries/services.hpp"
#include "events/event.hpp"
#include "http/client.hpp"
#include "metrics/loop_lag.hpp"
#include "process/launcher.hpp"
#include "remedies/remedy.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/spread.hpp"
#include "web/offload.hpp"
#include "web/pages.hpp"
#include "web/server.hpp"

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

  /// Start entries, listen, install signals, tell systemd we are ready.
  void start();
  /// Ask for a stop (also what SIGTERM/SIGINT do); the loop ends when everything is down.
  void request_stop();
  /// Reload the configuration file; `done` gets the reply document.
  void reload(std::function<void(boost::json::object)> done);

 private:
  void report_bad_state();
  void report_unclean_start(const state::Loaded& loaded, int missed);
  boost::json::object daemon_section() const;
  struct Groups {
    std::optional<gid_t> socket;
    std::optional<gid_t> admin;
  };
  void on_reload_loaded(config::LoadResult result, Groups groups, WallTime started);
  void watch_signals();
  void watch_clock_steps();
  void arm_clock_step_timer();
  void schedule_liveness();
  void schedule_watchdog();
  void drain_alerts(MonoTime deadline, std::function<void()> then);
  // What it shows outside (core/observe.cpp): the listener of daemon.metrics.listen, and the
  // exposition text it and `tend metrics` serve.
  void start_web();
  void apply_web(const config::DaemonConfig& next);
  void stop_web();
  void make_renders();
  web::Router make_router();
  std::string metrics_text();
  /// Collect every series on the loop; the job formats them (on the render worker).
  web::SharedRender::Job prepare_metrics();
  /// The status page's small charts: every entry's recent history from the store, fetched again
  /// at most once a minute (a render uses what is at hand; the page reloads itself).
  void refresh_recent();
  [[nodiscard]] web::Response healthz() const;
  [[nodiscard]] web::PageContext page_context() const;
  void wire_cluster();

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
  Spread spread_;
  std::unique_ptr<http::Client> http_;
  remedies::Context remedy_ctx_;
  // Notifications and the heartbeat have their own HTTP client: however many probe targets hang,
  // an alert never waits behind them for a transfer slot.
  std::unique_ptr<http::Client> alert_http_;
  alerts::Engine alerts_;
  alerts::Heartbeat heartbeat_;
  // Cluster mode (`cluster:`): etcd has its own HTTP client, so a claim never queues behind probes.
  // Before the entries: a job's run may still hold a claim when the registry goes.
  std::unique_ptr<http::Client> cluster_http_;
  std::unique_ptr<ClusterLink> cluster_;
  builtins::Runner builtins_;  // finds entries through entries_, once it runs
  entries::Services services_;
  entries::Registry entries_;
  commands::Services commands_;
  std::unique_ptr<control::Server> control_;
  boost::asio::signal_set signals_;
  boost::asio::posix::stream_descriptor clock_fd_;
  // Config file reads on reloads: disk stays off the loop. Started by the first reload: an idle
  // thread costs its stack and malloc's per-thread cache (issue 14).
  std::unique_ptr<boost::asio::thread_pool> blocking_;
  std::unique_ptr<TimerHandle> liveness_timer_;
  std::unique_ptr<TimerHandle> watchdog_timer_;
  std::unique_ptr<TimerHandle> stop_deadline_;
  std::unique_ptr<TimerHandle> drain_timer_;
  std::int64_t liveness_ticks_ = 0;
  std::optional<std::chrono::milliseconds> wall_offset_;  // wall - monotonic at the last liveness tick
  // A burst freed memory since the last liveness tick (start-up, a prune, a reload): the tick gives
  // the freed pages back.
  bool release_due_ = true;
  bool reloading_ = false;
  std::vector<std::function<void(boost::json::object)>> reload_waiters_;
  bool reload_again_ = false;
  bool stopping_ = false;

  // Metrics and the status page (core/observe.cpp). The server goes first, then the page render
  // it may wait on, then the worker that renders.
  metrics::LoopLag lag_{clock_};
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  WallTime last_reload_at_{};
  std::string state_error_;  // why writes fail now ("" while they work)
  double last_prepare_seconds_ = 0;
  std::shared_ptr<bool> web_alive_ = std::make_shared<bool>(true);           // history replies after a stop
  std::shared_ptr<const std::map<std::string, boost::json::array>> recent_;  // for the charts of "/"
  MonoTime recent_at_{};
  bool recent_loading_ = false;
  // The page's and the metrics' formatting, off the loop; made with the first web listener.
  std::unique_ptr<boost::asio::thread_pool> render_pool_;
  std::unique_ptr<web::SharedRender> page_render_;
  std::unique_ptr<web::SharedRender> metrics_render_;
  std::unique_ptr<web::Server> web_;
};

}  // namespace tend::core
