#pragma once
// The validated configuration: plain values, no YAML. Everything the daemon runs from comes
// from here. Equality ignores source positions so a reload can tell which entries changed.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "schedule/schedule.hpp"
#include "util/duration.hpp"

namespace tend::config {

using namespace std::chrono_literals;

/// Where a value came from: 1-based line and column.
struct Position {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class Severity { info, warning, critical };
const char* to_string(Severity s);

struct LogConfig {
  std::string level = "info";   // trace|debug|info|warning|error|critical|off
  std::string format = "text";  // text|json
  bool operator==(const LogConfig&) const = default;
};

struct HistoryConfig {
  int keep_runs = 200;  // per entry
  int keep_days = 30;
  bool operator==(const HistoryConfig&) const = default;
};

struct HeartbeatConfig {
  std::string url;  // secret: never logged
  Duration interval = 1min;
  bool operator==(const HeartbeatConfig&) const = default;
};

struct MetricsConfig {
  std::string listen;  // host:port
  bool operator==(const MetricsConfig&) const = default;
};

struct DaemonConfig {
  std::string environment = "production";
  std::string host;  // default: hostname
  std::string timezone_name;
  const date::time_zone* timezone = nullptr;  // default for schedules
  std::string socket = "/run/tend/tend.sock";
  std::string socket_group;
  std::string admin_group;
  std::string state_dir = "/var/lib/tend";
  LogConfig log;
  HistoryConfig history;
  std::optional<HeartbeatConfig> heartbeat;
  std::optional<MetricsConfig> metrics;
  bool operator==(const DaemonConfig&) const = default;
};

struct NotifierConfig {
  std::string name;
  std::string type;                            // one of notifier_types()
  std::string url;                             // secret
  std::map<std::string, std::string> headers;  // values secret
  Duration timeout = 10s;
  bool operator==(const NotifierConfig&) const = default;
};

struct RouteMatch {
  std::optional<Severity> severity;
  std::optional<std::string> kind;  // job|probe|watch|check|daemon
  std::optional<std::string> name;  // glob
  std::optional<std::string> environment;
  bool operator==(const RouteMatch&) const = default;
};

struct Route {
  RouteMatch match;
  std::vector<std::string> notify;
  bool continue_matching = false;  // `continue: true`
  bool operator==(const Route&) const = default;
};

struct EscalateConfig {
  Duration after = 30min;
  std::vector<std::string> notify;
  bool operator==(const EscalateConfig&) const = default;
};

struct AlertsConfig {
  std::vector<Route> routes;  // validated: last one has an empty match (default route)
  Duration repeat_interval = 4h;
  bool send_resolved = true;
  std::optional<EscalateConfig> escalate;
  Duration delivery_max_age = 24h;
  bool operator==(const AlertsConfig&) const = default;
};

enum class Backoff { fixed, exponential };
enum class Concurrency { forbid, allow, replace };

struct RetryConfig {
  int max = 0;  // retries after the first attempt
  Duration delay = 10s;
  Backoff backoff = Backoff::fixed;
  bool operator==(const RetryConfig&) const = default;
};

struct JobConfig {
  std::string name;
  schedule::Schedule schedule;
  std::vector<std::string> command;  // argv form
  std::string shell;                 // or shell form (run by /bin/sh -c)
  std::string builtin;               // or a builtin job (digest)
  std::string workdir;
  std::string user;
  std::map<std::string, std::string> env;
  std::optional<Duration> timeout;
  Duration kill_grace = 10s;
  std::optional<Duration> warn_after;
  RetryConfig retries;
  Concurrency concurrency = Concurrency::forbid;
  bool catch_up = false;
  Duration jitter = 0ms;
  std::vector<std::string> alert_on = {"failure", "timeout", "slow", "missed"};
  Severity severity = Severity::critical;
  bool operator==(const JobConfig&) const = default;
};

/// An accepted status: a code (200) or a class ("2xx" -> 200..299).
struct StatusRange {
  int low = 200;
  int high = 299;
  bool operator==(const StatusRange&) const = default;
};

struct JsonExpect {
  std::string path;    // JSON pointer, e.g. /status
  std::string equals;  // compared with the value's text form
  bool operator==(const JsonExpect&) const = default;
};

struct ProbeExpect {
  std::vector<StatusRange> status = {StatusRange{200, 299}};
  std::string body_contains;
  std::string body_regex;
  std::optional<JsonExpect> json;
  std::optional<Duration> max_latency;
  bool operator==(const ProbeExpect&) const = default;
};

struct TlsConfig {
  bool verify = true;
  Duration expiry_warning = 14 * 24h;
  bool operator==(const TlsConfig&) const = default;
};

enum class RemedyNotify { all, failures };

struct RemedyConfig {
  std::string type;               // one of remedy_types(): pm2 | systemd | exec
  std::string target;             // pm2 app name or systemd unit
  std::string user;               // pm2 only
  std::vector<std::string> argv;  // exec only
  Duration settle = 10s;
  int max_restarts = 3;
  Duration window = 15min;
  Duration cooldown = 1h;
  RemedyNotify notify = RemedyNotify::all;
  bool operator==(const RemedyConfig&) const = default;
};

struct ProbeConfig {
  std::string name;
  std::string url;
  std::string unix_socket;
  std::string method = "GET";
  std::map<std::string, std::string> headers;
  std::string body;
  bool follow_redirects = false;
  bool reuse_connection = true;  // false: a new connection per probe, as Monit
  Duration interval = 30s;
  Duration timeout = 10s;
  ProbeExpect expect;
  TlsConfig tls;
  int failure_threshold = 3;
  int success_threshold = 1;
  std::optional<RemedyConfig> remedy;
  Severity severity = Severity::critical;
  bool operator==(const ProbeConfig&) const = default;
};

enum class LogFormat { json, combined };

struct WatchConfig {
  std::string name;
  std::string file;
  LogFormat format = LogFormat::combined;
  std::string status_field = "status";
  Duration window = 5min;
  int min_requests = 20;
  double warning = 5.0;    // percent
  double critical = 10.0;  // percent
  bool operator==(const WatchConfig&) const = default;
};

struct CheckConfig {
  std::string name;
  std::optional<schedule::Schedule> schedule;  // either schedule...
  std::optional<Duration> every;               // ...or every
  Duration grace = 5min;
  Severity severity = Severity::critical;
  bool operator==(const CheckConfig&) const = default;
};

struct Config {
  std::string path;  // the main file
  DaemonConfig daemon;
  std::vector<std::string> include;  // patterns as written
  std::vector<NotifierConfig> notifiers;
  AlertsConfig alerts;
  std::vector<JobConfig> jobs;
  std::vector<ProbeConfig> probes;
  std::vector<WatchConfig> watches;
  std::vector<CheckConfig> checks;
  /// Source position of each entry and key ("jobs.backup" -> file:line:col), for runtime errors.
  std::map<std::string, Position> origins;
};

/// The notifier types config accepts ("slack", "discord", "webhook"); the alerting module's
/// registry is the single source of this list.
const std::vector<std::string>& notifier_types();

/// The remedy types config accepts ("pm2", "systemd", "exec").
const std::vector<std::string>& remedy_types();

}  // namespace tend::config
