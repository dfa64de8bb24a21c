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
#include <set>

#include "core/documents.hpp"
#include "core/systemd_notify.hpp"
#include "util/log.hpp"

namespace tend::core {
namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

const char* version() { return "0.1.0"; }

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

std::optional<gid_t> group_id(const std::string& name) {
  if (name.empty()) {
    return std::nullopt;
  }
  if (auto* g = ::getgrnam(name.c_str())) {
    return g->gr_gid;
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

/// One reload reply lists jobs, watches and checks together.
void merge_diff(Diff& into, const Diff& from) {
  into.added.insert(into.added.end(), from.added.begin(), from.added.end());
  into.changed.insert(into.changed.end(), from.changed.begin(), from.changed.end());
  into.removed.insert(into.removed.end(), from.removed.begin(), from.removed.end());
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

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, config::Config cfg, config::Sources sources)
    : io_(io),
      cfg_(std::move(cfg)),
      sources_(std::move(sources)),
      clock_(io),
      launcher_(process::make_posix_launcher(io)),
      store_(open_store(io, cfg_)),
      rng_(std::random_device{}()),
      job_ctx_{clock_,
               *launcher_,
               *store_,
               bus_,
               clock_.mono_now(),
               [this] { return ++last_run_id_; },
               [this](Duration max) {
                 std::uniform_int_distribution<std::int64_t> dist(0, max.count());
                 return Duration(dist(rng_));
               }},
      jobs_(job_ctx_),
      watch_ctx_{io, clock_, bus_},
      watches_(watch_ctx_),
      check_ctx_{clock_, *store_, bus_, [this] { return ++last_run_id_; }},
      checks_(check_ctx_),
      http_(http::make_curl_client(io)),
      remedy_ctx_{io, *launcher_},
      probe_ctx_{clock_,
                 *http_,
                 *store_,
                 bus_,
                 [this] { return ++last_run_id_; },
                 [this](const config::RemedyConfig& r) { return remedies::make_remedy(r, remedy_ctx_); }},
      probes_(probe_ctx_),
      alert_http_(http::make_curl_client(io)),
      alerts_(alerts::Context{clock_, *store_, *alert_http_, std::string("tend/") + version()}),
      heartbeat_(clock_, *alert_http_),
      signals_(io, SIGTERM, SIGINT, SIGHUP),
      clock_fd_(io) {
  job_ctx_.run_builtin = [this](const std::string& job, const std::string& builtin, jobs::BuiltinDone done) {
    if (builtin == "digest") {
      alerts_.digest(job, [done = std::move(done)](alerts::DigestResult r) { done(r.ok, r.reason, r.text); });
    } else {
      done(false, "unknown builtin '" + builtin + "'", "");
    }
  };
}

Daemon::~Daemon() { blocking_.join(); }

void Daemon::start() {
  started_at_ = clock_.now();
  config_loaded_at_ = started_at_;
  bus_.subscribe([this](const events::Event& e) { log_event(e); });

  auto loaded = store_->start(started_at_);
  last_run_id_ = loaded.max_run_id;
  // Alerting first: every event from here on (missed ticks, unclean start) must reach it.
  alerts_.start(cfg_, loaded);
  bus_.subscribe([this](const events::Event& e) { alerts_.on_event(e); });
  heartbeat_.configure(cfg_.daemon.heartbeat);
  for (const auto& r : loaded.interrupted) {
    logger()->warn("job={} run={} attempt={} event=INTERRUPTED reason={}", r.entry, r.run_id, r.attempt,
                   log::quote("daemon stopped while it ran"));
  }
  const int missed = jobs_.start(cfg_.jobs, loaded);
  watches_.start(cfg_.watches);
  checks_.start(cfg_.checks, loaded);
  probes_.start(cfg_.probes, loaded);
  if (loaded.unclean_stop) {
    const auto since = loaded.last_alive.value_or(started_at_);
    const auto downtime = duration_cast<std::chrono::seconds>(started_at_ - since);
    events::Event e;
    e.kind = events::Kind::daemon;
    e.name = "tendd";
    e.event = "unclean_start";
    e.severity = config::Severity::warning;
    e.summary = "tendd on " + cfg_.daemon.host + " started after an unclean stop; down about " +
                format_duration(duration_cast<milliseconds>(downtime)) + ", " + std::to_string(missed) +
                " scheduled tick" + (missed == 1 ? "" : "s") + " missed";
    e.detail = "last sign of life " + format_iso8601(since) + "; " + std::to_string(loaded.interrupted.size()) +
               " run(s) interrupted";
    e.at = started_at_;
    e.labels = {{"downtime_s", std::to_string(downtime.count())}, {"missed_ticks", std::to_string(missed)}};
    bus_.publish(e);
    // Also in history, so `tend history tendd` shows when the box was down and for how long.
    store_->put_run({"tendd", "daemon", ++last_run_id_, 1, since, started_at_,
                     duration_cast<milliseconds>(started_at_ - since).count(), "unclean_start", std::nullopt,
                     std::nullopt, "down " + format_duration(duration_cast<milliseconds>(downtime)) + "; " + e.detail,
                     ""});
  }
  store_->prune(cfg_.daemon.history.keep_runs, cfg_.daemon.history.keep_days, started_at_);

  control::Options opts;
  opts.path = cfg_.daemon.socket;
  opts.socket_group = group_id(cfg_.daemon.socket_group);
  opts.admin_group = group_id(cfg_.daemon.admin_group);
  control_ = std::make_unique<control::Server>(
      io_, opts, [this](const json::object& req, const control::Peer& peer, control::Reply reply) {
        handle(req, peer, std::move(reply));
      });
  control_->start();

  watch_signals();
  watch_clock_steps();
  schedule_liveness();
  schedule_watchdog();
  logger()->info("event=READY version={} config={} jobs={} watches={} checks={} socket={} state_dir={}", version(),
                 cfg_.path, cfg_.jobs.size(), cfg_.watches.size(), cfg_.checks.size(), cfg_.daemon.socket,
                 cfg_.daemon.state_dir);
  notify_ready();
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
      jobs_.replan();
      checks_.replan();
    }
    arm_clock_step_timer();
  });
}

void Daemon::schedule_liveness() {
  liveness_timer_ = clock_.call_after(liveness_period, [this] {
    const auto now = clock_.now();
    store_->mark_alive(now);
    if (++liveness_ticks_ % (prune_period / liveness_period) == 0) {
      store_->prune(cfg_.daemon.history.keep_runs, cfg_.daemon.history.keep_days, now);
    }
    // The wall clock moved against the monotonic one without a clock_settime (a suspended or
    // paused VM, a slewed-away drift): the timerfd does not see that, so re-plan here too.
    const auto offset = duration_cast<milliseconds>(now.time_since_epoch() - clock_.mono_now().time_since_epoch());
    if (wall_offset_ && std::chrono::abs(offset - *wall_offset_) > std::chrono::seconds(1)) {
      logger()->warn("event=CLOCK_DRIFT drift_ms={} re-planning every schedule", (offset - *wall_offset_).count());
      jobs_.replan();
      checks_.replan();
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

void Daemon::log_event(const events::Event& e) {
  auto line =
      fmt::format("kind={} name={} event={} status={} severity={} summary={}", events::to_string(e.kind), e.name,
                  e.event, events::to_string(e.status), config::to_string(e.severity), log::quote(e.summary));
  static auto events_log = log::get("events");
  if (e.status == events::Status::resolved || e.severity == config::Severity::info) {
    events_log->info("{}", line);
  } else {
    events_log->warn("{}", line);
  }
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
  boost::system::error_code ec;
  signals_.cancel(ec);
  clock_fd_.close(ec);
  liveness_timer_.reset();
  watchdog_timer_.reset();
  heartbeat_.stop();  // a stopped daemon stops pinging, so the outside service notices
  // Phase one: stop every run with its own grace. Phase two: a hard deadline after the longest
  // grace, so a stuck child or disk cannot hold the stop forever.
  Duration longest{0};
  for (const auto& j : cfg_.jobs) {
    longest = std::max(longest, j.kill_grace);
  }
  auto finish = std::make_shared<bool>(false);
  auto finish_stop = [this, finish] {
    if (*finish) {
      return;
    }
    *finish = true;
    // Notifications already on the wire get up to 3 s to land (a receiver that answers gets
    // them now, not at the next start); anything else waits in the outbox, which is durable.
    drain_alerts(clock_.mono_now() + std::chrono::seconds(3), [this] {
      store_->mark_clean_stop(clock_.now());
      store_->flush([this] {
        logger()->info("event=STOPPED");
        io_.stop();
      });
      stop_deadline_ = clock_.call_after(std::chrono::seconds(5), [this] { io_.stop(); });
    });
  };
  stop_deadline_ = clock_.call_after(longest + std::chrono::seconds(5), [finish_stop] {
    logger()->warn("event=STOP_TIMEOUT some runs did not end in time");
    finish_stop();
  });
  watches_.shutdown();
  checks_.shutdown();
  probes_.shutdown();
  jobs_.shutdown(finish_stop);
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
  boost::asio::post(blocking_, [this, path = cfg_.path, sources = sources_, started] {
    auto result = config::load_file(path, sources);
    boost::asio::post(
        io_, [this, result = std::move(result), started]() mutable { on_reload_loaded(std::move(result), started); });
  });
}

void Daemon::on_reload_loaded(config::LoadResult result, WallTime started) {
  auto waiters = std::move(reload_waiters_);
  reload_waiters_.clear();
  json::object reply;
  if (!result.config) {
    config_error_ = errors_text(result.errors);
    for (const auto& e : result.errors) {
      logger()->error("event=CONFIG_REJECTED {}", e.to_string());
    }
    events::Event e;
    e.kind = events::Kind::daemon;
    e.name = "tendd";
    e.event = "config_rejected";
    e.severity = config::Severity::critical;
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
    log::configure(next.daemon.log.level, next.daemon.log.format);
    auto diff = jobs_.apply(next.jobs);
    merge_diff(diff, watches_.apply(next.watches));
    merge_diff(diff, checks_.apply(next.checks));
    probes_.apply(next.probes, diff);
    alerts_.apply(next);
    heartbeat_.configure(next.daemon.heartbeat);
    if (!config_error_.empty()) {
      events::Event e;
      e.kind = events::Kind::daemon;
      e.name = "tendd";
      e.event = "config_rejected";
      e.status = events::Status::resolved;
      e.severity = config::Severity::critical;
      e.summary = "configuration " + cfg_.path + " accepted again";
      e.at = clock_.now();
      bus_.publish(e);
    }
    cfg_ = std::move(next);
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
  notify_ready();
  for (auto& w : waiters) {
    w(reply);
  }
  if (reload_again_) {
    reload_again_ = false;
    reload([](const json::object&) {});
  }
}

// ---- control socket commands ----

void Daemon::handle(const json::object& req, const control::Peer& peer, control::Reply reply) {
  const std::string cmd(req.at("cmd").as_string());
  static const std::set<std::string> admin_only = {"run",     "pause",     "resume",    "reload",
                                                   "silence", "unsilence", "test-alert"};
  if (admin_only.count(cmd) > 0 && !peer.admin) {
    reply(control::error_reply("permission denied: '" + cmd + "' needs root or the admin group (uid " +
                               std::to_string(peer.uid) + ")"));
    return;
  }
  if (cmd == "status") {
    reply(status_document());
  } else if (cmd == "history") {
    cmd_history(req, std::move(reply));
  } else if (cmd == "output") {
    cmd_output(req, std::move(reply));
  } else if (cmd == "run") {
    cmd_run(req, std::move(reply));
  } else if (cmd == "pause" || cmd == "resume") {
    cmd_pause(req, cmd == "pause", std::move(reply));
  } else if (cmd == "reload") {
    reload(std::move(reply));
  } else if (cmd == "ping") {
    cmd_ping(req, std::move(reply));
  } else if (cmd == "silence") {
    cmd_silence(req, peer, std::move(reply));
  } else if (cmd == "unsilence") {
    cmd_unsilence(req, std::move(reply));
  } else if (cmd == "test-alert") {
    cmd_test_alert(req, peer, std::move(reply));
  } else if (cmd == "alerts") {
    cmd_alerts(req, std::move(reply));
  } else {
    reply(control::error_reply("unknown command '" + cmd + "'"));
  }
}

json::object Daemon::status_document() const {
  json::object doc;
  doc["ok"] = true;
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
  d["state_write_errors"] = store_->write_errors();
  d["notifications_given_up"] = alerts_.given_up();
  doc["daemon"] = std::move(d);
  json::array entries;
  for (const auto& job : jobs_.all()) {
    entries.emplace_back(job_entry(*job));
  }
  for (const auto& probe : probes_.all()) {
    entries.emplace_back(probe_entry(*probe));
  }
  for (const auto& watch : watches_.all()) {
    entries.emplace_back(watch_entry(*watch));
  }
  for (const auto& check : checks_.all()) {
    entries.emplace_back(check_entry(*check));
  }
  for (auto& e : entries) {
    auto& o = e.as_object();
    if (auto until = alerts_.silenced_until(std::string(o.at("name").as_string()))) {
      o["silenced_until"] = format_iso8601(*until);
    }
  }
  doc["entries"] = std::move(entries);
  doc["alerts"] = alerts_.status();
  doc["heartbeat"] = heartbeat_.status();
  return doc;
}

namespace {

/// The "name" field of a request, or an error reply.
std::optional<std::string> name_of(const json::object& req, control::Reply& reply) {
  const auto* n = req.if_contains("name");
  if (n == nullptr || !n->is_string() || n->as_string().empty()) {
    reply(control::error_reply("missing \"name\""));
    return std::nullopt;
  }
  return std::string(n->as_string());
}

}  // namespace

void Daemon::cmd_history(const json::object& req, control::Reply reply) {
  auto name = name_of(req, reply);
  if (!name) {
    return;
  }
  std::int64_t limit = 20;
  if (const auto* n = req.if_contains("n")) {
    if (!n->is_int64() || n->as_int64() < 1 || n->as_int64() > 10000) {
      reply(control::error_reply("\"n\" must be an integer from 1 to 10000"));
      return;
    }
    limit = n->as_int64();
  }
  const bool known = jobs_.find(*name) || probes_.find(*name) || watches_.find(*name) || checks_.find(*name);
  store_->history(*name, static_cast<int>(limit), [reply, known, name = *name](std::vector<state::RunRecord> runs) {
    if (runs.empty() && !known) {
      reply(control::error_reply("unknown entry '" + name + "'"));
      return;
    }
    json::object doc;
    doc["ok"] = true;
    doc["name"] = name;
    json::array a;
    for (const auto& r : runs) {
      a.emplace_back(run_to_json(r));
    }
    doc["runs"] = std::move(a);
    reply(std::move(doc));
  });
}

void Daemon::cmd_output(const json::object& req, control::Reply reply) {
  auto name = name_of(req, reply);
  if (!name) {
    return;
  }
  std::optional<std::int64_t> run_id;
  if (const auto* r = req.if_contains("run_id"); r != nullptr && !r->is_null()) {
    if (!r->is_int64()) {
      reply(control::error_reply("\"run_id\" must be an integer"));
      return;
    }
    run_id = r->as_int64();
  }
  if (auto job = jobs_.find(*name)) {
    if (auto live = job->live_output(); live && (!run_id || *run_id == live->first)) {
      json::object doc;
      doc["ok"] = true;
      doc["run_id"] = live->first;
      doc["running"] = true;
      doc["output"] = live->second;
      reply(std::move(doc));
      return;
    }
  }
  store_->run_output(*name, run_id, [reply, name = *name](std::optional<state::RunRecord> r) {
    if (!r) {
      reply(control::error_reply("no recorded run of '" + name + "'"));
      return;
    }
    json::object doc = run_to_json(*r);
    doc["ok"] = true;
    doc["running"] = false;
    doc["output"] = r->output;
    reply(std::move(doc));
  });
}

void Daemon::cmd_run(const json::object& req, control::Reply reply) {
  auto name = name_of(req, reply);
  if (!name) {
    return;
  }
  auto job = jobs_.find(*name);
  if (!job) {
    reply(control::error_reply("unknown job '" + *name + "'"));
    return;
  }
  const auto* w = req.if_contains("wait");
  const bool wait = w != nullptr && w->is_bool() && w->as_bool();
  jobs::RunDone on_done;
  if (wait) {
    on_done = [reply](const state::RunRecord& r) {
      json::object doc = run_to_json(r);
      doc["ok"] = true;
      doc["output"] = r.output;
      reply(std::move(doc));
    };
  }
  auto started = job->run_now(on_done);
  if (!started) {
    reply(control::error_reply(started.error()));
    return;
  }
  if (!wait) {
    json::object doc;
    doc["ok"] = true;
    doc["run_id"] = *started;
    reply(std::move(doc));
  }
}

void Daemon::cmd_pause(const json::object& req, bool pause, control::Reply reply) {
  auto name = name_of(req, reply);
  if (!name) {
    return;
  }
  // Jobs hold their schedule; probes their requests and restarts; watches and checks their events.
  std::function<void(std::optional<WallTime>)> do_pause;
  std::function<void()> do_resume;
  if (auto job = jobs_.find(*name)) {
    do_pause = [job](std::optional<WallTime> until) { job->pause(until); };
    do_resume = [job] { job->resume(); };
  } else if (auto probe = probes_.find(*name)) {
    do_pause = [probe](std::optional<WallTime> until) { probe->pause(until); };
    do_resume = [probe] { probe->resume(); };
  } else if (auto watch = watches_.find(*name)) {
    do_pause = [watch](std::optional<WallTime> until) { watch->pause(until); };
    do_resume = [watch] { watch->resume(); };
  } else if (auto check = checks_.find(*name)) {
    do_pause = [check](std::optional<WallTime> until) { check->pause(until); };
    do_resume = [check] { check->resume(); };
  } else {
    reply(control::error_reply("unknown entry '" + *name + "'"));
    return;
  }
  json::object doc;
  doc["ok"] = true;
  if (!pause) {
    do_resume();
    reply(std::move(doc));
    return;
  }
  std::optional<WallTime> until;
  if (const auto* f = req.if_contains("for"); f != nullptr && !f->is_null()) {
    if (!f->is_string()) {
      reply(control::error_reply("\"for\" must be a duration such as 10m"));
      return;
    }
    auto d = parse_duration(std::string(f->as_string()));
    if (!d) {
      reply(control::error_reply(d.error()));
      return;
    }
    until = clock_.now() + *d;
    doc["until"] = format_iso8601(*until);
  }
  do_pause(until);
  reply(std::move(doc));
}

void Daemon::cmd_ping(const json::object& req, control::Reply reply) {
  // A report from a job that runs elsewhere: anyone who may open the socket may send one, so
  // everything in it is checked and bounded.
  auto name = name_of(req, reply);
  if (!name) {
    return;
  }
  auto check = checks_.find(*name);
  if (!check) {
    reply(control::error_reply(jobs_.find(*name) || watches_.find(*name)
                                   ? "'" + *name + "' is not a check (only checks take pings)"
                                   : "unknown check '" + *name + "'"));
    return;
  }
  checks::Report r;
  const auto* exit_code = req.if_contains("exit_code");
  if (exit_code != nullptr && !exit_code->is_null()) {
    if (!exit_code->is_int64() || exit_code->as_int64() < 0 || exit_code->as_int64() > 255) {
      reply(control::error_reply("\"exit_code\" must be an integer from 0 to 255"));
      return;
    }
    r.exit_code = static_cast<int>(exit_code->as_int64());
    r.what = checks::Report::What::exit;
  }
  if (const auto* w = req.if_contains("what"); w != nullptr && !w->is_null()) {
    auto what = w->is_string() ? checks::parse_what(std::string_view(w->as_string())) : std::nullopt;
    if (!what) {
      reply(control::error_reply("\"what\" must be start, success, fail or exit"));
      return;
    }
    r.what = *what;
  }
  if (r.what == checks::Report::What::exit && !r.exit_code) {
    reply(control::error_reply("\"what\":\"exit\" needs \"exit_code\""));
    return;
  }
  if (const auto* d = req.if_contains("duration_ms"); d != nullptr && !d->is_null()) {
    constexpr std::int64_t max_ms = std::int64_t{366} * 24 * 3600 * 1000;
    if (!d->is_int64() || d->as_int64() < 0 || d->as_int64() > max_ms) {
      reply(control::error_reply("\"duration_ms\" must be an integer from 0 to a year's worth"));
      return;
    }
    r.duration_ms = d->as_int64();
  }
  if (const auto* o = req.if_contains("output"); o != nullptr && !o->is_null()) {
    if (!o->is_string()) {
      reply(control::error_reply("\"output\" must be a string"));
      return;
    }
    constexpr std::size_t max_output = std::size_t{64} * 1024;
    const std::string_view text(o->as_string());
    r.output = std::string(text.substr(text.size() > max_output ? text.size() - max_output : 0));
  }
  if (const auto* why = req.if_contains("reason"); why != nullptr && !why->is_null()) {
    if (!why->is_string()) {
      reply(control::error_reply("\"reason\" must be a string"));
      return;
    }
    r.reason = std::string(std::string_view(why->as_string()).substr(0, 200));
    std::replace_if(
        r.reason.begin(), r.reason.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  }
  const auto state = check->report(std::move(r));
  json::object doc;
  doc["ok"] = true;
  doc["name"] = *name;
  doc["state"] = checks::to_string(state);
  reply(std::move(doc));
}

// ---- alerting commands ----

namespace {

std::string peer_name(const control::Peer& peer) {
  return "uid " + std::to_string(peer.uid) + " pid " + std::to_string(peer.pid);
}

/// "name", or "all": true (the "*" target); exactly one of them.
std::optional<std::string> silence_target(const json::object& req, control::Reply& reply) {
  const auto* all = req.if_contains("all");
  const bool is_all = all != nullptr && all->is_bool() && all->as_bool();
  const auto* n = req.if_contains("name");
  const bool has_name = n != nullptr && !n->is_null();
  if (is_all == has_name) {
    reply(control::error_reply("give either \"name\" or \"all\": true"));
    return std::nullopt;
  }
  if (is_all) {
    return std::string("*");
  }
  return name_of(req, reply);
}

}  // namespace

void Daemon::cmd_silence(const json::object& req, const control::Peer& peer, control::Reply reply) {
  auto target = silence_target(req, reply);
  if (!target) {
    return;
  }
  if (*target != "*" && !jobs_.find(*target) && !probes_.find(*target) && !watches_.find(*target) &&
      !checks_.find(*target) && *target != "tendd") {
    reply(control::error_reply("unknown entry '" + *target + "' (use --all to silence everything)"));
    return;
  }
  const auto* f = req.if_contains("for");
  if (f == nullptr || !f->is_string()) {
    reply(control::error_reply("\"for\" is required: a duration such as 2h"));
    return;
  }
  auto d = parse_duration(std::string(f->as_string()));
  if (!d) {
    reply(control::error_reply(d.error()));
    return;
  }
  std::string reason;
  if (const auto* r = req.if_contains("reason"); r != nullptr && r->is_string()) {
    reason = std::string(r->as_string()).substr(0, 500);
  }
  auto s = alerts_.silence(*target, *d, reason, peer_name(peer));
  if (!s) {
    reply(control::error_reply(s.error()));
    return;
  }
  json::object doc;
  doc["ok"] = true;
  doc["target"] = *target == "*" ? "--all" : *target;
  doc["until"] = format_iso8601(s->until);
  reply(std::move(doc));
}

void Daemon::cmd_unsilence(const json::object& req, control::Reply reply) {
  auto target = silence_target(req, reply);
  if (!target) {
    return;
  }
  const int removed = alerts_.unsilence(*target);
  if (removed == 0) {
    reply(control::error_reply(*target == "*" ? "nothing is silenced" : "'" + *target + "' is not silenced"));
    return;
  }
  json::object doc;
  doc["ok"] = true;
  doc["removed"] = removed;
  reply(std::move(doc));
}

void Daemon::cmd_test_alert(const json::object& req, const control::Peer& peer, control::Reply reply) {
  const auto* n = req.if_contains("notifier");
  if (n == nullptr || !n->is_string() || n->as_string().empty()) {
    reply(control::error_reply("missing \"notifier\""));
    return;
  }
  alerts_.test_alert(std::string(n->as_string()), peer_name(peer), [reply](bool ok, std::string message) {
    if (!ok) {
      reply(control::error_reply(message));
      return;
    }
    json::object doc;
    doc["ok"] = true;
    doc["message"] = message;
    reply(std::move(doc));
  });
}

void Daemon::cmd_alerts(const json::object& req, control::Reply reply) {
  std::string name;
  if (const auto* n = req.if_contains("name"); n != nullptr && n->is_string()) {
    name = std::string(n->as_string());
  }
  std::int64_t limit = 50;
  if (const auto* n = req.if_contains("n")) {
    if (!n->is_int64() || n->as_int64() < 1 || n->as_int64() > 10000) {
      reply(control::error_reply("\"n\" must be an integer from 1 to 10000"));
      return;
    }
    limit = n->as_int64();
  }
  store_->alert_log(name, static_cast<int>(limit), [reply](std::vector<state::AlertLogRecord> rows) {
    json::array a;
    for (const auto& r : rows) {
      a.push_back(json::object{{"at", format_iso8601(r.at)},
                               {"kind", r.kind},
                               {"name", r.name},
                               {"event", r.event},
                               {"status", r.status},
                               {"severity", r.severity},
                               {"summary", r.summary},
                               {"occurrences", r.occurrences},
                               {"action", r.action},
                               {"notifiers", r.notifiers}});
    }
    json::object doc;
    doc["ok"] = true;
    doc["alerts"] = std::move(a);
    reply(std::move(doc));
  });
}

}  // namespace tend::core
