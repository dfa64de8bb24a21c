#include "core/daemon.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "core/systemd_notify.hpp"
#include "plugins/plugins.hpp"
#include "util/log.hpp"
#include "util/memory.hpp"
#include "util/text.hpp"

namespace tend::core {
namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

const char* version() { return TEND_VERSION; }  // from CMake's project(VERSION)

namespace {

const auto& logger() {
  static auto l = log::get("daemon");
  return l;
}

constexpr auto liveness_period = std::chrono::seconds(10);
constexpr auto prune_period = std::chrono::hours(1);

std::unique_ptr<state::Store> open_store(boost::asio::io_context& io, const config::Config& cfg) {
  std::error_code ec;
  fs::create_directories(cfg.daemon.state_dir, ec);
  if (ec) {
    throw std::runtime_error("cannot create state_dir " + cfg.daemon.state_dir + ": " + ec.message());
  }
  fs::create_directories(fs::path(cfg.daemon.socket).parent_path(), ec);
  if (ec) {
    throw std::runtime_error("cannot create the socket's folder for " + cfg.daemon.socket + ": " + ec.message());
  }
  return std::make_unique<state::Store>(io, (fs::path(cfg.daemon.state_dir) / "tend.db").string());
}

// Runs on the blocking thread at reload (NSS may hang), before the loop at start.
std::optional<gid_t> group_id(const std::string& name) {
  if (name.empty()) {
    return std::nullopt;
  }
  group gr{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  while (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) == ERANGE && buf.size() < (1U << 20)) {
    buf.resize(buf.size() * 2);
  }
  if (found != nullptr) {
    return gr.gr_gid;
  }
  logger()->warn("group {} does not exist; ignoring it", name);
  return std::nullopt;
}

json::array names(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

std::string errors_text(const std::vector<config::ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) {
      out += '\n';
    }
    out += e.to_string();
  }
  return out;
}

/// The configuration as the daemon keeps it: without the source position of every key, which only
/// the load's own errors use (about 800 bytes an entry: 8 MB at 10,000 probes; issue 14).
config::Config kept(config::Config cfg) {
  cfg.origins.clear();
  return cfg;
}

bool same_cluster(const cluster::Settings& a, const cluster::Settings& b) {
  return a.endpoints == b.endpoints && a.prefix == b.prefix && a.node == b.node && a.lease_ttl == b.lease_ttl &&
         a.tls.ca == b.tls.ca && a.tls.cert == b.tls.cert && a.tls.key == b.tls.key;
}

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, config::Config cfg, config::Sources sources)
    : io_(io),
      cfg_(kept(std::move(cfg))),
      sources_(std::move(sources)),
      clock_(io),
      launcher_(process::make_posix_launcher(io)),
      store_(open_store(io, cfg_)),
      rng_(std::random_device{}()),
      http_(http::make_client(io)),
      remedy_ctx_{io, *launcher_, std::chrono::milliseconds(60'000), {}, {}, cfg_.daemon.env},
      alert_http_(http::make_curl_client(io)),
      alerts_(alerts::Context{clock_, *store_, *alert_http_, std::string("tend/") + version()}),
      heartbeat_(clock_, *alert_http_),
      cluster_http_(cfg_.cluster ? http::make_curl_client(io) : nullptr),
      cluster_(cfg_.cluster ? std::make_unique<ClusterLink>(*cluster_http_, clock_, *cfg_.cluster,
                                                            cluster::Identity{cfg_.daemon.host, version()}, bus_)
                            : nullptr),
      builtins_(builtins::Context{clock_, *store_, alerts_,
                                  [this](const std::string& name) { return entries_.find(name); }, cfg_.daemon}),
      services_{io,
                clock_,
                *store_,
                bus_,
                *launcher_,
                *http_,
                remedy_ctx_,
                builtins_,
                spread_,
                cfg_.daemon,
                clock_.mono_now(),
                [this] { return ++last_run_id_; },
                [this](Duration max) {
                  std::uniform_int_distribution<std::int64_t> dist(0, max.count());
                  return Duration(dist(rng_));
                },
                cluster_.get()},
      entries_(services_, plugins::kinds()),
      commands_{clock_,
                entries_,
                *store_,
                alerts_,
                heartbeat_,
                [this] { return daemon_section(); },
                [this](control::Reply reply) { reload(std::move(reply)); },
                [this] { return metrics_text(); },
                {},  // cluster_section, cluster_document, cluster_runs: wire_cluster() sets them in cluster mode
                {},
                {}},
      signals_(io, SIGTERM, SIGINT, SIGHUP),
      clock_fd_(io) {
  wire_cluster();
}

void Daemon::wire_cluster() {
  if (!cluster_) {
    return;
  }
  commands_.cluster_section = [this] { return cluster_->status(); };
  commands_.cluster_document = [this](std::function<void(json::object)> done) { cluster_->document(std::move(done)); };
  commands_.cluster_runs = [this](const std::string& job, std::size_t n,
                                  std::function<void(std::optional<json::array>)> done) {
    cluster_->runs(job, n, std::move(done));
  };
  alerts_.set_claim([this](const alerts::Notification& n, std::function<void(bool)> send) {
    cluster_->claim_notification(n, std::move(send));
  });
}

Daemon::~Daemon() {
  web_.reset();
  page_render_.reset();
  metrics_render_.reset();
  if (render_pool_) {
    render_pool_->join();
  }
  if (blocking_) {
    blocking_->join();
  }
}

void Daemon::start() {
  started_at_ = clock_.now();
  config_loaded_at_ = started_at_;
  last_reload_at_ = started_at_;
  bus_.subscribe(events::log_event);

  auto loaded = store_->start(started_at_);
  last_run_id_ = loaded.max_run_id;
  // Alerting first: every event from here on (missed ticks, unclean start) must reach it.
  alerts_.start(cfg_, loaded);
  bus_.subscribe([this](const events::Event& e) { alerts_.on_event(e); });
  heartbeat_.configure(cfg_.daemon.heartbeat);
  for (const auto& r : loaded.interrupted) {
    logger()->warn("{}={} run={} attempt={} event=INTERRUPTED reason={}", r.kind, r.entry, r.run_id, r.attempt,
                   log::quote("daemon stopped while it ran"));
  }
  report_bad_state();
  if (cluster_) {
    cluster_->start();  // before the entries: their catch-up claims wait for the join
  }
  const int missed = entries_.start(cfg_.entries, loaded);
  if (loaded.unclean_stop) {
    report_unclean_start(loaded, missed);
  }
  store_->prune(cfg_.daemon.history.keep_runs, cfg_.daemon.history.keep_days, started_at_);

  control::Options opts;
  opts.path = cfg_.daemon.socket;
  opts.socket_group = group_id(cfg_.daemon.socket_group);
  opts.admin_group = group_id(cfg_.daemon.admin_group);
  control_ = std::make_unique<control::Server>(
      io_, opts, [this](const json::object& req, const control::Peer& peer, control::Reply reply) {
        commands::dispatch(commands_, req, peer, std::move(reply));
      });
  control_->start();
  start_web();

  watch_signals();
  watch_clock_steps();
  schedule_liveness();
  schedule_watchdog();
  std::string counts;
  for (const auto* kind : entries_.kinds()) {
    counts += fmt::format(" {}={}", kind->section.section, entries_.count(kind->section.kind));
  }
  logger()->info("event=READY version={} config={}{} socket={} state_dir={}", version(), cfg_.path, counts,
                 cfg_.daemon.socket, cfg_.daemon.state_dir);
  notify_ready();
}

void Daemon::report_bad_state() {
  if (auto reset = store_->reset()) {
    auto e = events::Event::of(events::types::daemon_state_reset, "tendd");
    if (reset->in_memory) {
      e.summary = "tendd on " + cfg_.daemon.host + " cannot use its state database and runs on one in memory: " +
                  "history, silences and notifications of this run are lost when it restarts";
      e.detail = "error: " + reset->error + "\nthe file is left as it is; fix the cause and restart tendd";
    } else {
      e.summary = "tendd on " + cfg_.daemon.host + " found its state database damaged and started a fresh one: " +
                  "run history, schedule state, silences and pending notifications of before are gone";
      e.detail = "error: " + reset->error + "\nthe old file, kept: " + reset->moved_to;
    }
    e.at = clock_.now();
    bus_.publish(e);
  }
  // A full or failing disk: scheduling, probing and alerting go on; writes are held back and
  // retried in order; people hear of it once, and when it is over.
  store_->on_health([this](bool healthy, const std::string& error) {
    state_error_ = healthy ? std::string() : (error.empty() ? std::string("write failed") : error);
    auto e = events::Event::of(events::types::daemon_state_write_failed, "tendd",
                               healthy ? events::Status::resolved : events::Status::firing);
    e.summary = healthy ? "state database writes work again on " + cfg_.daemon.host
                        : "state database writes fail on " + cfg_.daemon.host + " (" + cfg_.daemon.state_dir +
                              "); jobs, probes and alerts go on, history is held back and retried";
    e.detail = error;
    e.at = clock_.now();
    bus_.publish(e);
  });
}

void Daemon::report_unclean_start(const state::Loaded& loaded, int missed) {
  const auto since = loaded.last_alive.value_or(started_at_);
  const auto downtime = duration_cast<std::chrono::seconds>(started_at_ - since);
  auto e = events::Event::of(events::types::daemon_unclean_start, "tendd");
  e.summary = "tendd on " + cfg_.daemon.host + " started after an unclean stop; down about " +
              format_duration(duration_cast<milliseconds>(downtime)) + ", " + plural(missed, "scheduled tick") +
              " missed";
  e.detail = "last sign of life " + format_iso8601(since) + "; " + std::to_string(loaded.interrupted.size()) +
             " run(s) interrupted";
  e.at = started_at_;
  e.labels = {{"downtime_s", std::to_string(downtime.count())}, {"missed_ticks", std::to_string(missed)}};
  bus_.publish(e);
  // Also in history, so `tend history tendd` shows when the box was down and for how long.
  store_->put_run({"tendd", std::string(events::types::daemon_unclean_start.kind), ++last_run_id_, 1, since,
                   started_at_, duration_cast<milliseconds>(started_at_ - since).count(), "unclean_start", std::nullopt,
                   std::nullopt, "down " + format_duration(duration_cast<milliseconds>(downtime)) + "; " + e.detail,
                   ""});
}

json::object Daemon::daemon_section() const {
  json::object d;
  d["version"] = version();
  d["host"] = cfg_.daemon.host;
  d["environment"] = cfg_.daemon.environment;
  d["started_at"] = format_iso8601(started_at_);
  json::object c;
  c["path"] = cfg_.path;
  c["loaded_at"] = format_iso8601(config_loaded_at_);
  c["error"] = config_error_.empty() ? json::value(nullptr) : json::value(config_error_);
  d["config"] = std::move(c);
  return d;
}

void Daemon::watch_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) {
      return;
    }
    if (sig == SIGHUP) {
      logger()->info("event=SIGHUP reloading {}", cfg_.path);
      reload([](const json::object&) {});
    } else {
      logger()->info("event=SIGNAL signal={} stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      request_stop();
    }
    if (!stopping_) {
      watch_signals();
    }
  });
}

void Daemon::watch_clock_steps() {
  // A CLOCK_REALTIME timerfd with TFD_TIMER_CANCEL_ON_SET wakes us when the wall clock is set
  // (NTP step, date -s), the way systemd notices it: no polling.
  int fd = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) {
    logger()->warn("timerfd_create failed: {}; wall-clock steps will not re-plan timers", std::strerror(errno));
    return;
  }
  clock_fd_.assign(fd);
  arm_clock_step_timer();
}

void Daemon::arm_clock_step_timer() {
  itimerspec spec{};
  spec.it_value.tv_sec = std::numeric_limits<time_t>::max() / 2;  // never expires by itself
  if (::timerfd_settime(clock_fd_.native_handle(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, nullptr) != 0) {
    logger()->warn("timerfd_settime failed: {}", std::strerror(errno));
    return;
  }
  clock_fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    std::uint64_t expirations = 0;
    if (::read(clock_fd_.native_handle(), &expirations, sizeof expirations) < 0 && errno == ECANCELED) {
      logger()->warn("event=CLOCK_STEP now={} re-planning every schedule", format_iso8601(clock_.now()));
      entries_.replan();
    }
    arm_clock_step_timer();
  });
}

void Daemon::schedule_liveness() {
  liveness_timer_ = clock_.call_after(liveness_period, [this] {
    const auto now = clock_.now();
    store_->mark_alive(now);
    if (release_due_) {
      // At least one tick after the burst: the store worker has run what it was given by then.
      release_freed_memory();
      release_due_ = false;
    }
    if (++liveness_ticks_ % (prune_period / liveness_period) == 0) {
      store_->prune(cfg_.daemon.history.keep_runs, cfg_.daemon.history.keep_days, now);
      release_due_ = true;
    }
    // The wall clock moved against the monotonic one without a clock_settime (a suspended or
    // paused VM, a slewed-away drift): the timerfd does not see that, so re-plan here too.
    const auto offset = duration_cast<milliseconds>(now.time_since_epoch() - clock_.mono_now().time_since_epoch());
    if (wall_offset_ && std::chrono::abs(offset - *wall_offset_) > std::chrono::seconds(1)) {
      logger()->warn("event=CLOCK_DRIFT drift_ms={} re-planning every schedule", (offset - *wall_offset_).count());
      entries_.replan();
    }
    wall_offset_ = offset;
    schedule_liveness();
  });
}

void Daemon::schedule_watchdog() {
  // Pinged from the loop itself: a loop that stalls stops the pings and systemd restarts us.
  auto interval = watchdog_interval();
  if (!interval) {
    return;
  }
  watchdog_timer_ = clock_.call_after(duration_cast<milliseconds>(*interval), [this] {
    notify_watchdog();
    schedule_watchdog();
  });
}

void Daemon::request_stop() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  notify_stopping();
  logger()->info("event=STOPPING");
  if (control_) {
    control_->stop();
  }
  stop_web();
  boost::system::error_code ec;
  signals_.cancel(ec);
  clock_fd_.close(ec);
  liveness_timer_.reset();
  watchdog_timer_.reset();
  heartbeat_.stop();  // a stopped daemon stops pinging, so the outside service notices
  // Phase one: every entry stops what it runs, each child with its own kill_grace. Phase two: a
  // hard deadline after the longest grace, so a stuck child or disk cannot hold the stop forever.
  const Duration longest = entries_.stop_grace();
  auto finish = std::make_shared<bool>(false);
  auto finish_stop = [this, finish] {
    if (*finish) {
      return;
    }
    *finish = true;
    // Notifications already on the wire get up to 3 s to land (a receiver that answers gets
    // them now, not at the next start); anything else waits in the outbox, which is durable.
    auto drain = [this] {
      drain_alerts(clock_.mono_now() + std::chrono::seconds(3), [this] {
        store_->mark_clean_stop(clock_.now());
        store_->flush([this] {
          logger()->info("event=STOPPED");
          io_.stop();
        });
        stop_deadline_ = clock_.call_after(std::chrono::seconds(5), [this] { io_.stop(); });
      });
    };
    if (!cluster_) {
      drain();
      return;
    }
    // Leave the cluster: revoking the lease frees this host's claims at once (the others need not
    // wait a TTL); bounded by the cluster's operation timeout.
    cluster_->stop(drain);
  };
  stop_deadline_ = clock_.call_after(longest + std::chrono::seconds(5), [finish_stop] {
    logger()->warn("event=STOP_TIMEOUT some runs did not end in time");
    finish_stop();
  });
  entries_.shutdown(finish_stop);
}

void Daemon::drain_alerts(MonoTime deadline, std::function<void()> then) {
  if (alerts_.in_flight() == 0 || clock_.mono_now() >= deadline) {
    then();
    return;
  }
  drain_timer_ = clock_.call_after(std::chrono::milliseconds(50), [this, deadline, then = std::move(then)]() mutable {
    drain_alerts(deadline, std::move(then));
  });
}

void Daemon::reload(std::function<void(json::object)> done) {
  reload_waiters_.push_back(std::move(done));
  if (reloading_) {
    reload_again_ = true;  // a reload requested mid-reload must see the newest file
    return;
  }
  reloading_ = true;
  notify_reloading();
  const auto started = clock_.now();
  // The file read and the group lookups (NSS: LDAP, sssd may hang) happen off the loop.
  if (!blocking_) {
    blocking_ = std::make_unique<boost::asio::thread_pool>(1);
  }
  boost::asio::post(*blocking_, [this, path = cfg_.path, sources = sources_, started] {
    auto result = config::load_file(path, sources, plugins::config());
    Groups groups;
    if (result.config) {
      groups = {group_id(result.config->daemon.socket_group), group_id(result.config->daemon.admin_group)};
    }
    boost::asio::post(io_, [this, result = std::move(result), groups, started]() mutable {
      on_reload_loaded(std::move(result), groups, started);
    });
  });
}

void Daemon::on_reload_loaded(config::LoadResult result, Groups groups, WallTime started) {
  auto waiters = std::move(reload_waiters_);
  reload_waiters_.clear();
  json::object reply;
  last_reload_at_ = clock_.now();
  if (result.config && result.config->cluster.has_value() != cfg_.cluster.has_value()) {
    // Jobs would change from claimed ticks to local ones (or back) mid-flight: double runs.
    result.errors.push_back(config::ConfigError{
        config::Position{cfg_.path, 0, 0}, "cluster",
        std::string(cfg_.cluster ? "removing" : "adding") + " the cluster: section takes a restart of tendd"});
    result.config.reset();
  }
  if (!result.config) {
    ++reloads_failed_;
    config_error_ = errors_text(result.errors);
    for (const auto& e : result.errors) {
      logger()->error("event=CONFIG_REJECTED {}", e.to_string());
    }
    auto e = events::Event::of(events::types::daemon_config_rejected, "tendd");
    e.summary = "configuration " + cfg_.path + " rejected (" + std::to_string(result.errors.size()) +
                " error(s)); the previous configuration stays in force";
    e.detail = config_error_;
    e.at = clock_.now();
    bus_.publish(e);
    reply =
        control::error_reply("configuration rejected; the previous configuration stays in force:\n" + config_error_);
  } else {
    auto next = std::move(*result.config);
    if (next.daemon.state_dir != cfg_.daemon.state_dir || next.daemon.socket != cfg_.daemon.socket) {
      logger()->warn("daemon.state_dir and daemon.socket changes take effect after a restart");
      next.daemon.state_dir = cfg_.daemon.state_dir;
      next.daemon.socket = cfg_.daemon.socket;
    }
    if (next.cluster && !same_cluster(*next.cluster, *cfg_.cluster)) {
      logger()->warn("cluster: changes take effect after a restart");
      next.cluster = cfg_.cluster;
    }
    log::configure(next.daemon.log.level, next.daemon.log.format);
    if (control_) {
      control_->reconfigure(groups.socket, groups.admin);
    }
    ++reloads_ok_;
    apply_web(next.daemon);  // before cfg_.daemon takes next: it compares the two
    // The daemon section first: entries read it (children's daemon.env) as they update.
    cfg_.daemon = next.daemon;
    remedy_ctx_.base_env = next.daemon.env;
    const auto diff = entries_.apply(next.entries);
    alerts_.apply(next);
    heartbeat_.configure(next.daemon.heartbeat);
    if (!config_error_.empty()) {
      auto e = events::Event::of(events::types::daemon_config_rejected, "tendd", events::Status::resolved);
      e.summary = "configuration " + cfg_.path + " accepted again";
      e.at = clock_.now();
      bus_.publish(e);
    }
    cfg_ = kept(std::move(next));
    config_error_.clear();
    config_loaded_at_ = started;
    logger()->info("event=RELOADED added={} changed={} removed={}", diff.added.size(), diff.changed.size(),
                   diff.removed.size());
    reply["ok"] = true;
    reply["added"] = names(diff.added);
    reply["changed"] = names(diff.changed);
    reply["removed"] = names(diff.removed);
  }
  reloading_ = false;
  release_due_ = true;
  notify_ready();
  for (auto& w : waiters) {
    w(reply);
  }
  if (reload_again_) {
    reload_again_ = false;
    reload([](const json::object&) {});
  }
}

}  // namespace tend::core
