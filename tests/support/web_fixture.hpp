#pragma once
// Fixture documents and series for the web listener's demo server (tests/helpers/web_demo.cpp),
// its integration tests and bench/bench_web.cpp: a status document shaped exactly as
// core::Daemon::status_document() and core/documents.cpp build it, history records as
// core::run_to_json writes them, and the series of docs/metrics.md for the same entries.
// Everything is deterministic in the entry count and `now`.

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/exposition.hpp"
#include "util/time.hpp"

namespace tend::test {

namespace fixture_detail {

inline std::string entry_name(const char* kind, std::size_t i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-%05zu", kind, i);
  return buf;
}

inline const char* kind_of(std::size_t i) {
  // 4 of 10 jobs, 4 probes, 1 watch, 1 check.
  static constexpr const char* kinds[] = {"job", "probe", "job", "probe", "watch",
                                          "job", "probe", "job", "probe", "check"};
  return kinds[i % 10];
}

/// Every 13th entry is in trouble, every 29th in a milder kind of it.
inline bool failing(std::size_t i) { return i % 13 == 5; }
inline bool warning(std::size_t i) { return i % 29 == 7; }

inline boost::json::value iso(std::optional<WallTime> t) {
  return t ? boost::json::value(format_iso8601(*t)) : boost::json::value(nullptr);
}

}  // namespace fixture_detail

/// A status document with `n` entries.
inline boost::json::object fixture_status(std::size_t n, WallTime now) {
  using namespace std::chrono;
  using namespace fixture_detail;
  namespace json = boost::json;
  json::array entries;
  json::array firing;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string kind = kind_of(i);
    const auto name = entry_name(kind.c_str(), i);
    const bool bad = failing(i);
    const bool warn = warning(i);
    json::object o;
    o["kind"] = kind;
    o["name"] = name;
    const auto last = now - seconds(30 + static_cast<int>(i % 600));
    const auto next = now + seconds(30 + static_cast<int>((i * 7) % 3600));
    if (kind == "job") {
      o["state"] = i % 31 == 3 ? "running" : "idle";
      o["paused"] = i % 97 == 11;
      o["paused_until"] = nullptr;
      o["silenced_until"] = nullptr;
      o["last_result"] = bad ? "failure" : (warn ? "missed" : "success");
      o["last_reason"] = bad ? "exit 1: psql: could not connect to server <db-1>" : (warn ? "missed tick" : "exit 0");
      o["last_run"] = iso(last);
      o["last_duration_ms"] = 1200 + static_cast<std::int64_t>(i % 50) * 100;
      o["next_run"] = iso(next);
      o["consecutive_failures"] = bad ? 2 : 0;
      o["running"] = i % 31 == 3;
      o["runs_in_progress"] = i % 31 == 3 ? 1 : 0;
      o["schedule"] = "*/5 * * * *";
    } else if (kind == "probe") {
      o["state"] = bad ? "down" : (i % 211 == 1 ? "unknown" : "up");
      o["paused"] = false;
      o["paused_until"] = nullptr;
      o["silenced_until"] = i % 53 == 1 ? iso(now + hours(2)) : json::value(nullptr);
      o["last_result"] = bad ? "down" : "up";
      o["last_run"] = iso(last);
      o["next_run"] = iso(now + seconds(1 + static_cast<int>(i % 30)));
      o["consecutive_failures"] = bad ? 4 : 0;
      o["latency_ms"] = bad ? json::value(10000) : json::value(20 + static_cast<std::int64_t>(i % 80));
      o["reason"] = bad ? "status 502" : "";
      o["restarts_in_window"] = bad ? 1 : 0;
      o["restart_limit"] = bad && i % 2 == 0;
      o["cert_expires_at"] = i % 5 == 1 ? iso(now + hours(24 * (3 + i % 60))) : json::value(nullptr);
      o["url"] = "https://svc-" + std::to_string(i) + ".example.com";
    } else if (kind == "watch") {
      o["state"] = bad ? "critical" : (warn ? "warning" : "ok");
      o["paused"] = false;
      o["paused_until"] = nullptr;
      o["silenced_until"] = nullptr;
      o["last_result"] = o["state"];
      o["last_reason"] = bad ? "5xx 12.50% of 400 requests in 5m" : "5xx 0.20% of 500 requests in 5m";
      o["last_run"] = iso(now - seconds(1));
      o["next_run"] = nullptr;
      o["consecutive_failures"] = 0;
      o["rate"] = bad ? 12.5 : 0.2;
      o["requests"] = 500;
      o["errors"] = bad ? 50 : 1;
      o["unparsed"] = i % 3;
      o["lines"] = 100000 + i;
      o["total_requests"] = 100000;
      o["state_since"] = iso(now - hours(3));
      o["file"] = "/var/log/nginx/site-" + std::to_string(i) + ".log";
      o["format"] = "combined";
      o["window"] = "5m";
      o["min_requests"] = 20;
      o["warning"] = 5;
      o["critical"] = 10;
      o["following"] = true;
      o["offset"] = 123456;
      o["inode"] = 42;
      o["rotations"] = 1;
      o["truncations"] = 0;
      o["inotify"] = true;
      o["follow_error"] = nullptr;
    } else {
      o["state"] = bad ? "late" : (i % 41 == 9 ? "new" : "up");
      o["paused"] = false;
      o["paused_until"] = nullptr;
      o["silenced_until"] = nullptr;
      o["last_result"] = i % 41 == 9 ? json::value(nullptr) : json::value("success");
      o["last_reason"] = bad ? "no success ping since 2h ago (grace 30m)" : "";
      o["last_run"] = i % 41 == 9 ? json::value(nullptr) : iso(now - hours(bad ? 26 : 2));
      o["last_duration_ms"] = 65000;
      o["last_exit_code"] = 0;
      o["next_run"] = iso(now + hours(21));
      o["deadline"] = iso(now + hours(21) + minutes(30));
      o["last_success"] = iso(now - hours(bad ? 26 : 2));
      o["running"] = false;
      o["running_since"] = nullptr;
      o["consecutive_failures"] = 0;
      o["schedule"] = "0 23 * * *";
      o["grace"] = "30m";
    }
    if (bad && firing.size() < 25) {
      const char* event = kind == "job"     ? "failure"
                          : kind == "probe" ? "down"
                          : kind == "watch" ? "error_rate"
                                            : "late";
      firing.push_back(json::object{{"kind", kind},
                                    {"name", name},
                                    {"event", event},
                                    {"severity", "critical"},
                                    {"since", format_iso8601(now - minutes(5 + static_cast<int>(i % 50)))},
                                    {"occurrences", 1 + static_cast<std::int64_t>(i % 4)},
                                    {"silenced", false},
                                    {"escalated", i % 2 == 0},
                                    {"summary", kind + " " + name + " " + event}});
    }
    entries.emplace_back(std::move(o));
  }
  json::object daemon{{"version", "0.1.0"},
                      {"host", "web-1"},
                      {"environment", "production"},
                      {"started_at", format_iso8601(now - hours(50))},
                      {"config", json::object{{"path", "/etc/tend/tend.yaml"},
                                              {"loaded_at", format_iso8601(now - hours(5))},
                                              {"error", nullptr}}},
                      {"state_write_errors", 0},
                      {"notifications_given_up", 0}};
  json::array silences{json::object{{"target", n > 1 ? entry_name(kind_of(1), 1) : std::string("x")},
                                    {"until", format_iso8601(now + hours(2))},
                                    {"reason", "deploy"},
                                    {"by", "root"}}};
  json::array notifiers{json::object{{"name", "team-slack"},
                                     {"type", "slack"},
                                     {"target", "https://hooks.slack.com"},
                                     {"pending", 0},
                                     {"sent", 42},
                                     {"given_up", 0},
                                     {"retries", 1},
                                     {"last_error", nullptr},
                                     {"last_sent", format_iso8601(now - minutes(5))},
                                     {"next_attempt", nullptr}},
                        json::object{{"name", "pager"},
                                     {"type", "webhook"},
                                     {"target", "https://pager.example.com"},
                                     {"pending", 2},
                                     {"sent", 7},
                                     {"given_up", 0},
                                     {"retries", 3},
                                     {"last_error", "status 503"},
                                     {"last_sent", format_iso8601(now - hours(1))},
                                     {"next_attempt", format_iso8601(now + seconds(40))}}};
  return json::object{{"ok", true},
                      {"daemon", std::move(daemon)},
                      {"entries", std::move(entries)},
                      {"alerts", json::object{{"firing", std::move(firing)},
                                              {"silences", std::move(silences)},
                                              {"notifiers", std::move(notifiers)},
                                              {"given_up", 0}}},
                      {"heartbeat", json::object{{"enabled", true},
                                                 {"target", "https://hc-ping.com"},
                                                 {"interval", "1m"},
                                                 {"sent", 3000},
                                                 {"failed", 2},
                                                 {"last_ok", format_iso8601(now - seconds(20))},
                                                 {"last_error", nullptr}}}};
}

/// History records (newest first) for one entry of fixture_status: probes one result a minute
/// for 25 hours (down for an hour, with a restart, when the entry is failing), jobs and checks
/// their last 40 runs.
inline boost::json::array fixture_history(const boost::json::object& entry, WallTime now) {
  using namespace std::chrono;
  namespace json = boost::json;
  json::array runs;
  const auto* k = entry.if_contains("kind");
  const auto* n = entry.if_contains("name");
  if (k == nullptr || n == nullptr || !k->is_string() || !n->is_string()) {
    return runs;
  }
  const std::string kind(k->as_string());
  const auto* state = entry.if_contains("state");
  const bool bad = state != nullptr && state->is_string() &&
                   (state->as_string() == "down" || state->as_string() == "late" || state->as_string() == "critical" ||
                    (entry.contains("consecutive_failures") && entry.at("consecutive_failures").is_int64() &&
                     entry.at("consecutive_failures").as_int64() > 0));
  std::int64_t id = 100000;
  const auto seed = std::hash<std::string>()(std::string(n->as_string()));
  if (kind == "probe") {
    for (int m = 0; m < 25 * 60; ++m) {
      const auto t = now - minutes(m) - seconds(static_cast<int>(seed % 60));
      const bool down = bad ? m < 40 : (m >= 300 && m < 300 + static_cast<int>(seed % 20));
      if (bad && m == 40) {
        runs.push_back(json::object{{"run_id", id++},
                                    {"attempt", 1},
                                    {"started_at", format_iso8601(t)},
                                    {"ended_at", format_iso8601(t + seconds(12))},
                                    {"duration_ms", 12000},
                                    {"outcome", "restart_failed"},
                                    {"exit_code", nullptr},
                                    {"signal", nullptr},
                                    {"reason", "pm2 restart: app not in pm2 jlist"}});
      }
      const std::int64_t latency =
          down ? 0
               : 20 + static_cast<std::int64_t>((seed + static_cast<std::size_t>(m) * 7919) % 90) +
                     (m % 180 < 10 ? 200 : 0);
      runs.push_back(json::object{{"run_id", id++},
                                  {"attempt", 1},
                                  {"started_at", format_iso8601(t)},
                                  {"ended_at", format_iso8601(t + milliseconds(latency))},
                                  {"duration_ms", latency},
                                  {"outcome", down ? "down" : "up"},
                                  {"exit_code", down ? json::value(502) : json::value(200)},
                                  {"signal", nullptr},
                                  {"reason", down ? "status 502" : ""}});
    }
    return runs;
  }
  if (kind == "watch") {
    return runs;  // watches keep no run history
  }
  for (int r = 0; r < 40; ++r) {
    const auto t = now - minutes(5 * r + 2);
    const bool fail = (bad && r < 2) || (seed + static_cast<std::size_t>(r)) % 11 == 0;
    const bool timeout = !fail && (seed + static_cast<std::size_t>(r)) % 23 == 0;
    const std::int64_t ms = timeout ? 300000
                                    : 1000 + static_cast<std::int64_t>((seed >> 3) % 4000) +
                                          static_cast<std::int64_t>((static_cast<std::size_t>(r) * 977) % 3000);
    runs.push_back(json::object{{"run_id", id - r},
                                {"attempt", fail && r % 2 == 0 ? 2 : 1},
                                {"started_at", format_iso8601(t)},
                                {"ended_at", format_iso8601(t + milliseconds(ms))},
                                {"duration_ms", ms},
                                {"outcome", fail      ? "failure"
                                            : timeout ? "timeout"
                                                      : "success"},
                                {"exit_code", fail      ? json::value(1)
                                              : timeout ? json::value(nullptr)
                                                        : json::value(0)},
                                {"signal", timeout ? json::value(15) : json::value(nullptr)},
                                {"reason", fail      ? "exit 1"
                                           : timeout ? "timeout after 5m"
                                                     : "exit 0"}});
  }
  return runs;
}

/// The numbers behind docs/metrics.md's per-entry series, for `n` entries.
struct FixtureSeries {
  struct Job {
    std::string name;
    std::array<std::uint64_t, 6> runs{};  // success failure timeout skipped missed interrupted
    metrics::Histogram duration{metrics::duration_buckets()};
    double last_success = 0;
    double last_run = 0;
    double next_run = 0;
    int running = 0;
    int consecutive_failures = 0;
    bool paused = false;
    bool silenced = false;
  };
  struct Probe {
    std::string name;
    std::optional<bool> up;
    metrics::Histogram latency{metrics::latency_buckets()};
    std::uint64_t results_up = 0;
    std::uint64_t results_down = 0;
    std::uint64_t restarts_ok = 0;
    std::uint64_t restarts_failed = 0;
    bool restart_limit = false;
    std::optional<double> cert_expiry;
    int consecutive_failures = 0;
    bool paused = false;
    bool silenced = false;
  };
  struct Watch {
    std::string name;
    std::string state;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t unparsed = 0;
    double ratio = 0;
    std::uint64_t window_requests = 0;
    bool paused = false;
    bool silenced = false;
  };
  struct Check {
    std::string name;
    std::string state;
    std::optional<double> last_ping;
    std::optional<double> last_success;
    bool paused = false;
    bool silenced = false;
  };
  std::vector<Job> jobs;
  std::vector<Probe> probes;
  std::vector<Watch> watches;
  std::vector<Check> checks;
};

inline FixtureSeries fixture_series(std::size_t n, WallTime now) {
  using namespace fixture_detail;
  FixtureSeries s;
  const double t = std::chrono::duration<double>(now.time_since_epoch()).count();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string kind = kind_of(i);
    const auto name = entry_name(kind.c_str(), i);
    if (kind == "job") {
      FixtureSeries::Job j;
      j.name = name;
      j.runs = {500 + i % 100,         failing(i) ? 12u : i % 3, i % 7 == 0 ? 1u : 0u,
                i % 11 == 0 ? 2u : 0u, warning(i) ? 1u : 0u,     0};
      for (int r = 0; r < 40; ++r) {
        j.duration.observe(1.0 + static_cast<double>((i + static_cast<std::size_t>(r) * 37) % 400) / 10);
      }
      j.last_success = t - 300 - static_cast<double>(i % 600);
      j.last_run = t - static_cast<double>(i % 300);
      j.next_run = t + 300 - static_cast<double>(i % 300);
      j.running = i % 31 == 3 ? 1 : 0;
      j.consecutive_failures = failing(i) ? 2 : 0;
      j.paused = i % 97 == 11;
      s.jobs.push_back(std::move(j));
    } else if (kind == "probe") {
      FixtureSeries::Probe p;
      p.name = name;
      if (i % 211 != 1) {
        p.up = !failing(i);
      }
      for (int r = 0; r < 60; ++r) {
        p.latency.observe(0.02 + static_cast<double>((i + static_cast<std::size_t>(r) * 13) % 90) / 1000);
      }
      p.results_up = 2880 - i % 10;
      p.results_down = failing(i) ? 40 : i % 10;
      p.restarts_ok = failing(i) ? 1 : 0;
      p.restarts_failed = failing(i) ? 1 : 0;
      p.restart_limit = failing(i) && i % 2 == 0;
      if (i % 5 == 1) {
        p.cert_expiry = t + 86400.0 * static_cast<double>(3 + i % 60);
      }
      p.consecutive_failures = failing(i) ? 4 : 0;
      p.silenced = i % 53 == 1;
      s.probes.push_back(std::move(p));
    } else if (kind == "watch") {
      FixtureSeries::Watch w;
      w.name = name;
      w.state = failing(i) ? "critical" : (warning(i) ? "warning" : "ok");
      w.requests = 100000 + i;
      w.errors = failing(i) ? 5000 : 200;
      w.unparsed = i % 3;
      w.ratio = failing(i) ? 0.125 : 0.002;
      w.window_requests = 500;
      s.watches.push_back(std::move(w));
    } else {
      FixtureSeries::Check c;
      c.name = name;
      c.state = failing(i) ? "late" : (i % 41 == 9 ? "new" : "up");
      if (i % 41 != 9) {
        c.last_ping = t - (failing(i) ? 26 : 2) * 3600.0;
        c.last_success = c.last_ping;
      }
      s.checks.push_back(std::move(c));
    }
  }
  return s;
}

/// Add the per-entry series of docs/metrics.md to a collector, entry by entry (as entries of
/// the daemon's registry would, each adding its own).
inline void collect_fixture_series(const FixtureSeries& s, metrics::Collector& c) {
  using metrics::Type;
  static constexpr const char* outcomes[] = {"success", "failure", "timeout", "skipped", "missed", "interrupted"};
  auto& state = c.family("tend_entry_state", "Current state of each entry (1 for the state it is in).", Type::gauge,
                         {"kind", "name", "state"});
  auto& paused = c.family("tend_entry_paused", "1 while the entry is paused.", Type::gauge, {"kind", "name"});
  auto& silenced =
      c.family("tend_entry_silenced", "1 while the entry's notifications are silenced.", Type::gauge, {"kind", "name"});
  auto& runs = c.family("tend_job_runs_total", "Finished job runs by outcome.", Type::counter, {"name", "outcome"});
  auto& duration =
      c.family("tend_job_run_duration_seconds", "Duration of finished job runs.", Type::histogram, {"name"});
  auto& last_success = c.family("tend_job_last_success_timestamp_seconds",
                                "When the job last finished successfully (Unix time).", Type::gauge, {"name"});
  auto& last_run = c.family("tend_job_last_run_timestamp_seconds", "When the job's last run started (Unix time).",
                            Type::gauge, {"name"});
  auto& next_run =
      c.family("tend_job_next_run_timestamp_seconds", "When the job runs next (Unix time).", Type::gauge, {"name"});
  auto& running = c.family("tend_job_running", "Runs of the job in progress.", Type::gauge, {"name"});
  auto& job_failures = c.family("tend_job_consecutive_failures", "Failed runs in a row.", Type::gauge, {"name"});
  for (const auto& j : s.jobs) {
    state.sample({"job", j.name, j.running > 0 ? "running" : "idle"}, 1);
    paused.sample({"job", j.name}, j.paused ? 1 : 0);
    silenced.sample({"job", j.name}, j.silenced ? 1 : 0);
    for (std::size_t k = 0; k < 6; ++k) {
      runs.sample({j.name, outcomes[k]}, j.runs[k]);
    }
    duration.histogram({j.name}, j.duration);
    last_success.sample({j.name}, j.last_success);
    last_run.sample({j.name}, j.last_run);
    next_run.sample({j.name}, j.next_run);
    running.sample({j.name}, j.running);
    job_failures.sample({j.name}, j.consecutive_failures);
  }
  auto& up = c.family("tend_probe_up", "1 when the probe's target is up, 0 when down (absent until known).",
                      Type::gauge, {"name"});
  auto& latency = c.family("tend_probe_latency_seconds", "Latency of probe requests that got an answer.",
                           Type::histogram, {"name"});
  auto& results = c.family("tend_probe_results_total", "Probe results by verdict.", Type::counter, {"name", "result"});
  auto& probe_failures =
      c.family("tend_probe_consecutive_failures", "Failed probe results in a row.", Type::gauge, {"name"});
  auto& restarts = c.family("tend_probe_restarts_total",
                            "Remedy restarts by result (success: the probe passed again within settle).", Type::counter,
                            {"name", "result"});
  auto& limit =
      c.family("tend_probe_restart_limit", "1 while restarts are suspended after max_restarts.", Type::gauge, {"name"});
  auto& cert = c.family("tend_probe_cert_expiry_timestamp_seconds",
                        "When the target's TLS certificate expires (Unix time).", Type::gauge, {"name"});
  for (const auto& p : s.probes) {
    state.sample({"probe", p.name, !p.up ? "unknown" : (*p.up ? "up" : "down")}, 1);
    paused.sample({"probe", p.name}, p.paused ? 1 : 0);
    silenced.sample({"probe", p.name}, p.silenced ? 1 : 0);
    if (p.up) {
      up.sample({p.name}, *p.up ? 1 : 0);
    }
    latency.histogram({p.name}, p.latency);
    results.sample({p.name, "up"}, p.results_up);
    results.sample({p.name, "down"}, p.results_down);
    probe_failures.sample({p.name}, p.consecutive_failures);
    restarts.sample({p.name, "success"}, p.restarts_ok);
    restarts.sample({p.name, "failure"}, p.restarts_failed);
    limit.sample({p.name}, p.restart_limit ? 1 : 0);
    if (p.cert_expiry) {
      cert.sample({p.name}, *p.cert_expiry);
    }
  }
  auto& requests =
      c.family("tend_watch_requests_total", "Requests read from the watched log.", Type::counter, {"name"});
  auto& errors = c.family("tend_watch_server_errors_total", "Requests in the watched log answered with a 5xx status.",
                          Type::counter, {"name"});
  auto& ratio = c.family("tend_watch_error_ratio", "Share of 5xx answers among the requests in the window (0-1).",
                         Type::gauge, {"name"});
  auto& window = c.family("tend_watch_window_requests", "Requests in the window.", Type::gauge, {"name"});
  auto& unparsed =
      c.family("tend_watch_unparsed_lines_total", "Log lines that could not be parsed.", Type::counter, {"name"});
  for (const auto& w : s.watches) {
    state.sample({"watch", w.name, w.state}, 1);
    paused.sample({"watch", w.name}, w.paused ? 1 : 0);
    silenced.sample({"watch", w.name}, w.silenced ? 1 : 0);
    requests.sample({w.name}, w.requests);
    errors.sample({w.name}, w.errors);
    ratio.sample({w.name}, w.ratio);
    window.sample({w.name}, w.window_requests);
    unparsed.sample({w.name}, w.unparsed);
  }
  auto& ping = c.family("tend_check_last_ping_timestamp_seconds", "When the check last reported in (Unix time).",
                        Type::gauge, {"name"});
  auto& check_success = c.family("tend_check_last_success_timestamp_seconds",
                                 "When the check last reported success (Unix time).", Type::gauge, {"name"});
  auto& check_failures =
      c.family("tend_check_consecutive_failures", "Failed or late reports in a row.", Type::gauge, {"name"});
  for (const auto& k : s.checks) {
    check_failures.sample({k.name}, k.state == "up" ? 0 : 1);
    state.sample({"check", k.name, k.state}, 1);
    paused.sample({"check", k.name}, k.paused ? 1 : 0);
    silenced.sample({"check", k.name}, k.silenced ? 1 : 0);
    if (k.last_ping) {
      ping.sample({k.name}, *k.last_ping);
    }
    if (k.last_success) {
      check_success.sample({k.name}, *k.last_success);
    }
  }
}

/// The daemon-wide series of docs/metrics.md (alerting, config, state), with fixed figures.
inline void collect_fixture_daemon_series(metrics::Collector& c, WallTime now, std::size_t entries) {
  using metrics::Type;
  const double t = std::chrono::duration<double>(now.time_since_epoch()).count();
  c.family("tend_build_info", "Version of tendd (always 1).", Type::gauge, {"version"}).sample({"0.1.0"}, 1);
  auto& count = c.family("tend_entries", "Configured entries by kind.", Type::gauge, {"kind"});
  count.sample({"job"}, entries * 4 / 10);
  count.sample({"probe"}, entries * 4 / 10);
  count.sample({"watch"}, entries / 10);
  count.sample({"check"}, entries / 10);
  auto& reloads = c.family("tend_config_reloads_total", "Config reloads by result.", Type::counter, {"result"});
  reloads.sample({"success"}, 3);
  reloads.sample({"failure"}, 1);
  c.family("tend_config_last_reload_successful", "1 when the last reload was accepted, 0 when rejected.", Type::gauge)
      .sample({}, 1);
  c.family("tend_config_last_reload_timestamp_seconds", "When the config was last loaded or rejected (Unix time).",
           Type::gauge)
      .sample({}, t - 5 * 3600);
  c.family("tend_state_write_errors_total", "State database writes that failed.", Type::counter).sample({}, 0);
  c.family("tend_state_writable", "1 while the state database accepts writes.", Type::gauge).sample({}, 1);
  c.family("tend_start_time_seconds", "When tendd started (Unix time).", Type::gauge)
      .sample({}, static_cast<double>(to_unix_ms(now) / 1000 - 3600));
  c.family("tend_notifications_given_up_total", "Notifications given up (past delivery.max_age).", Type::counter)
      .sample({}, 0);
  auto& firing = c.family("tend_alerts_firing", "Alerts firing now, by severity.", Type::gauge, {"severity"});
  firing.sample({"critical"}, 25);
  firing.sample({"warning"}, 3);
  firing.sample({"info"}, 0);
  c.family("tend_silences_active", "Silences in force.", Type::gauge).sample({}, 1);
  c.family("tend_alerts_silenced", "Firing alerts whose notifications a silence holds back.", Type::gauge)
      .sample({}, 4);
  c.family("tend_alerts_inhibited", "Firing alerts held back by an inhibit rule.", Type::gauge).sample({}, 2);
  auto& sent = c.family("tend_notifications_total", "Notification delivery attempts by notifier and result.",
                        Type::counter, {"notifier", "result"});
  auto& pending = c.family("tend_outbox_pending", "Notifications waiting in the outbox.", Type::gauge, {"notifier"});
  auto& oldest = c.family("tend_outbox_oldest_age_seconds", "Age of the oldest notification waiting in the outbox.",
                          Type::gauge, {"notifier"});
  for (const char* n : {"team-slack", "pager"}) {
    const bool pager = std::string_view(n) == "pager";
    sent.sample({n, "sent"}, pager ? 7 : 42);
    sent.sample({n, "retried"}, pager ? 3 : 1);
    sent.sample({n, "given_up"}, 0);
    pending.sample({n}, pager ? 2 : 0);
    oldest.sample({n}, pager ? 95.0 : 0.0);
  }
  auto& hb = c.family("tend_heartbeat_pings_total", "Heartbeat pings by result.", Type::counter, {"result"});
  hb.sample({"success"}, 3000);
  hb.sample({"failure"}, 2);
  c.family("tend_heartbeat_last_success_timestamp_seconds", "When a heartbeat ping last succeeded (Unix time).",
           Type::gauge)
      .sample({}, t - 20);
}

}  // namespace tend::test
