// Config loading: every rule of SPEC's "Config file" section, each error checked for its message,
// file:line:column and key path. The outside world is a fake Sources; nothing reads the real
// environment or file system.

#include <date/tz.h>

#include <catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "checks/config.hpp"
#include "config/interpolate.hpp"
#include "config/loader.hpp"
#include "jobs/config.hpp"
#include "plugins/plugins.hpp"
#include "probes/config.hpp"
#include "remedies/remedy.hpp"
#include "schedule/schedule.hpp"
#include "watches/config.hpp"

using namespace tend::config;
using namespace std::chrono_literals;
using tend::checks::CheckConfig;
using tend::jobs::Backoff;
using tend::jobs::Concurrency;
using tend::jobs::JobConfig;
using tend::jobs::RetryConfig;
using tend::probes::ProbeConfig;
using tend::probes::StatusRange;
using tend::watches::WatchConfig;
using RemedyNotify = tend::remedies::Notify;

namespace {

// The real registry's readers: what tendd --check and the daemon use.
LoadResult load_text(std::string_view text, const std::string& file, const Sources& sources) {
  return tend::config::load_text(text, file, sources, tend::plugins::config());
}
LoadResult load_file(const std::string& path, const Sources& sources) {
  return tend::config::load_file(path, sources, tend::plugins::config());
}

// Each kind's entries, as copies of its own settings type.
template <class T>
std::vector<T> all(const Config& c) {
  std::vector<T> out;
  for (const auto* e : c.all<T>()) {
    out.push_back(*e);
  }
  return out;
}
std::vector<JobConfig> jobs(const Config& c) { return all<JobConfig>(c); }
std::vector<ProbeConfig> probes(const Config& c) { return all<ProbeConfig>(c); }
std::vector<WatchConfig> watches(const Config& c) { return all<WatchConfig>(c); }
std::vector<CheckConfig> checks(const Config& c) { return all<CheckConfig>(c); }

// The settings a `restart:` mapping written as YAML reads into (the variant's own reader).
bool restart_is(const std::optional<tend::remedies::RemedyConfig>& r, std::string_view yaml_map) {
  auto expected = tend::remedies::parse_restart(yaml_map);
  return r && expected && r->type == expected->type && same_settings(r->restart, expected->restart);
}

struct FakeWorld {
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;
  std::map<std::string, std::vector<std::string>> globs;
  std::string credentials_dir;
  std::string hostname = "test-host";

  [[nodiscard]] Sources sources() const {
    Sources s;
    s.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional(it->second);
    };
    s.read_file = [this](const std::string& path) -> std::optional<std::string> {
      auto it = files.find(path);
      return it == files.end() ? std::nullopt : std::optional(it->second);
    };
    s.glob = [this](const std::string& pattern) {
      auto it = globs.find(pattern);
      return it == globs.end() ? std::vector<std::string>{} : it->second;
    };
    s.credentials_dir = credentials_dir;
    s.hostname = hostname;
    return s;
  }
};

// Raw strings start with a newline so line 1 of the YAML is the line after R"(.
std::string yaml(std::string_view text) { return std::string(text.substr(text.front() == '\n' ? 1 : 0)); }

LoadResult load(std::string_view text, const FakeWorld& world = {}) {
  return load_text(yaml(text), "/etc/tend/tend.yaml", world.sources());
}

std::string dump(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.to_string() + "\n";
  }
  return out;
}

// The one error of `r`; fails listing all of them otherwise.
ConfigError only_error(const LoadResult& r) {
  INFO(dump(r));
  REQUIRE(r.errors.size() == 1);
  REQUIRE_FALSE(r.config.has_value());
  return r.errors.front();
}

// The error at `path`; fails listing all errors when there is none.
ConfigError error_at(const LoadResult& r, const std::string& path) {
  INFO(dump(r));
  for (const auto& e : r.errors) {
    if (e.key_path == path) {
      return e;
    }
  }
  FAIL("no error at " << path);
  return {};
}

Config loaded(const LoadResult& r) {
  INFO(dump(r));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config.has_value());
  return *r.config;
}

void check_at(const ConfigError& e, int line, int column, const std::string& path, const std::string& message) {
  INFO(e.to_string());
  CHECK(e.pos.file == "/etc/tend/tend.yaml");
  CHECK(e.pos.line == line);
  CHECK(e.pos.column == column);
  CHECK(e.key_path == path);
  CHECK(e.message == message);
}

const std::string kSpecExample = R"(
daemon:
  environment: production        # label on every alert (dev/staging/production)
  host: web-1                    # default: hostname
  timezone: Asia/Seoul           # default for schedules; default: system zone
  socket: /run/tend/tend.sock
  socket_group: tend             # group that may read status (mode 0660)
  admin_group: tend-admin        # group that may also run/pause/reload/silence (root always may)
  state_dir: /var/lib/tend
  log: {level: info, format: text}   # format: text | json; to stderr (journald under systemd)
  history: {keep_runs: 200, keep_days: 30}
  heartbeat: {url: "https://hc-ping.com/${env:HC_UUID}", interval: 1m}  # dead-man's switch, outbound
  metrics: {listen: 127.0.0.1:9717}  # optional Prometheus /metrics and /healthz

include: [/etc/tend/conf.d/*.yaml]

notifiers:
  team-slack:   {type: slack,   url: "${env:SLACK_WEBHOOK_URL}"}
  ops-discord:  {type: discord, url: "${file:/etc/tend/discord.url}"}
  pager:
    type: webhook                 # generic JSON POST (payload below)
    url: https://example.invalid/hook
    headers: {Authorization: "Bearer ${env:PAGER_TOKEN}"}
    timeout: 10s

alerts:
  routes:                         # first match wins unless continue: true
    - match: {severity: critical, environment: production}
      notify: [team-slack, pager]
    - match: {kind: watch}
      notify: [ops-discord]
    - notify: [team-slack]        # default route (required)
  repeat_interval: 4h             # re-notify a still-firing alert, with its count
  send_resolved: true             # "✅ recovered" messages
  escalate: {after: 30m, notify: [pager]}   # still firing after 30m
  delivery: {max_age: 24h}        # retry with backoff until then; never drop silently

jobs:
  payment_notification:
    schedule: "0 10 * * *"        # cron; see Schedules
    timezone: Asia/Seoul
    command: [python3, /app/send_payment_notification.py]   # argv, no shell
    # shell: "python3 /app/x.py | gzip > /tmp/y"            # explicit shell form instead
    workdir: /app
    user: app                     # drop privileges (daemon runs as root)
    env: {DJANGO_ENV: production}
    timeout: 5m                   # SIGTERM the whole process group, SIGKILL after kill_grace
    kill_grace: 10s
    warn_after: 3m                # "slow" warning while still running
    retries: {max: 3, delay: 10s, backoff: exponential}   # up to 3 retries after the first attempt; or fixed
    concurrency: forbid           # forbid (skip+alert) | allow | replace
    catch_up: true                # one run at start if a tick was missed while down
    jitter: 0s
    alert_on: [failure, timeout, slow, missed]
    severity: critical
  report:
    schedule: "@daily"
    builtin: digest               # daily health report to the routes (failures, durations, last success)

probes:
  api:
    url: http://127.0.0.1:3000/health      # http/https; unix socket via unix_socket: PATH
    method: GET
    headers: {}
    interval: 30s
    timeout: 10s
    expect:
      status: [200]               # codes or ranges like "2xx"
      body_contains: '"status":"ok"'
      # body_regex, json: {path: /status, equals: ok}
      max_latency: 2s
    tls: {verify: true, expiry_warning: 14d}
    failure_threshold: 3          # consecutive failures before "down"
    success_threshold: 1          # consecutive successes before "up"
    remedy:
      restart: {pm2: api, user: ubuntu}    # or {systemd: api.service} or {exec: [argv...]}
      settle: 10s                 # wait, then probe again before judging the restart
      max_restarts: 3             # within window; then stop restarting and raise restart_limit
      window: 15m
      cooldown: 1h                # after restart_limit, try again after this (re-arms by itself)
      notify: failures            # all | failures: alert only when a restart fails or hits the limit
    severity: critical

watches:                          # error rate from access logs
  be-5xx:
    file: /var/log/nginx/be_access.log
    format: json                  # json (field `status`) | combined (nginx/apache combined)
    status_field: status
    window: 5m
    min_requests: 20
    warning: 5%                   # 5xx share of requests in the window (by arrival time;
    critical: 10%                 #   reading starts at the end of the file)

checks:                           # passive checks: jobs elsewhere report in
  nightly-backup:
    schedule: "0 23 * * *"        # or every: 1h
    grace: 30m                    # "late" when no success ping by tick + grace
    severity: critical
)";

FakeWorld spec_world() {
  FakeWorld w;
  w.env = {{"HC_UUID", "1234-uuid"},
           {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/SECRET"},
           {"PAGER_TOKEN", "pager-secret"}};
  w.files = {{"/etc/tend/discord.url", "https://discord.com/api/webhooks/1/abc\n"}};
  return w;
}

}  // namespace

TEST_CASE("the SPEC example loads with its values and the defaults", "[config]") {
  const FakeWorld world = spec_world();
  const Config c = loaded(load(kSpecExample, world));
  const auto* seoul = date::locate_zone("Asia/Seoul");

  CHECK(c.path == "/etc/tend/tend.yaml");
  CHECK(c.daemon.environment == "production");
  CHECK(c.daemon.host == "web-1");
  CHECK(c.daemon.timezone == seoul);
  CHECK(c.daemon.timezone_name == "Asia/Seoul");
  CHECK(c.daemon.socket_group == "tend");
  CHECK(c.daemon.admin_group == "tend-admin");
  CHECK(c.daemon.log == LogConfig{"info", "text"});
  CHECK(c.daemon.history == HistoryConfig{200, 30});
  REQUIRE(c.daemon.heartbeat);
  CHECK(c.daemon.heartbeat->url == "https://hc-ping.com/1234-uuid");
  CHECK(c.daemon.heartbeat->interval == 1min);
  REQUIRE(c.daemon.metrics);
  CHECK(c.daemon.metrics->listen == "127.0.0.1:9717");
  CHECK(c.include == std::vector<std::string>{"/etc/tend/conf.d/*.yaml"});

  REQUIRE(c.notifiers.size() == 3);
  CHECK(c.notifiers[0].name == "team-slack");
  CHECK(c.notifiers[0].url == "https://hooks.slack.com/services/T0/B0/SECRET");
  CHECK(c.notifiers[0].timeout == 10s);
  CHECK(c.notifiers[1].url == "https://discord.com/api/webhooks/1/abc");  // trimmed
  CHECK(c.notifiers[2].type == "webhook");
  CHECK(c.notifiers[2].headers.at("Authorization") == "Bearer pager-secret");

  REQUIRE(c.alerts.routes.size() == 3);
  CHECK(c.alerts.routes[0].match.severity == Severity::critical);
  CHECK(c.alerts.routes[0].match.environment == "production");
  CHECK_FALSE(c.alerts.routes[0].match.kind);
  CHECK(c.alerts.routes[0].notify == std::vector<std::string>{"team-slack", "pager"});
  CHECK(c.alerts.routes[1].match.kind == "watch");
  CHECK(c.alerts.routes[2].match == RouteMatch{});
  CHECK_FALSE(c.alerts.routes[2].continue_matching);
  CHECK(c.alerts.repeat_interval == 4h);
  CHECK(c.alerts.send_resolved);
  REQUIRE(c.alerts.escalate);
  CHECK(c.alerts.escalate->after == 30min);
  CHECK(c.alerts.escalate->notify == std::vector<std::string>{"pager"});
  CHECK(c.alerts.delivery_max_age == 24h);

  REQUIRE(jobs(c).size() == 2);
  const JobConfig pay = jobs(c)[0];
  CHECK(pay.name == "payment_notification");
  CHECK(pay.schedule.text == "0 10 * * *");
  CHECK(pay.schedule.zone == seoul);
  CHECK(pay.command == std::vector<std::string>{"python3", "/app/send_payment_notification.py"});
  CHECK(pay.shell.empty());
  CHECK(pay.workdir == "/app");
  CHECK(pay.user == "app");
  CHECK(pay.env == std::map<std::string, std::string>{{"DJANGO_ENV", "production"}});
  CHECK(pay.timeout == 5min);
  CHECK(pay.kill_grace == 10s);
  CHECK(pay.warn_after == 3min);
  CHECK(pay.retries == RetryConfig{3, 10s, Backoff::exponential});
  CHECK(pay.concurrency == Concurrency::forbid);
  CHECK(pay.catch_up);
  CHECK(pay.jitter == 0ms);
  CHECK(pay.alert_on == std::vector<std::string>{"failure", "timeout", "slow", "missed"});
  CHECK(pay.severity == Severity::critical);
  const JobConfig report = jobs(c)[1];
  CHECK(report.builtin == "digest");
  CHECK(report.command.empty());
  CHECK(report.schedule.zone == seoul);  // daemon.timezone is the default
  CHECK_FALSE(report.timeout);           // defaults
  CHECK(report.retries == RetryConfig{});
  CHECK_FALSE(report.catch_up);

  REQUIRE(probes(c).size() == 1);
  const ProbeConfig api = probes(c)[0];
  CHECK(api.url == "http://127.0.0.1:3000/health");
  CHECK(api.method == "GET");
  CHECK(api.headers.empty());
  CHECK(api.interval == 30s);
  CHECK(api.timeout == 10s);
  CHECK(api.expect.status == std::vector<StatusRange>{{200, 200}});
  CHECK(api.expect.body_contains == R"("status":"ok")");
  CHECK(api.expect.max_latency == 2s);
  CHECK(api.tls == tend::probes::TlsConfig{true, 14 * 24h});
  CHECK(api.failure_threshold == 3);
  CHECK(api.success_threshold == 1);
  CHECK_FALSE(api.follow_redirects);
  CHECK(api.reuse_connection);
  REQUIRE(api.remedy);
  CHECK(restart_is(api.remedy, "{pm2: api, user: ubuntu}"));
  CHECK(api.remedy->settle == 10s);
  CHECK(api.remedy->max_restarts == 3);
  CHECK(api.remedy->window == 15min);
  CHECK(api.remedy->cooldown == 1h);
  CHECK(api.remedy->notify == RemedyNotify::failures);

  REQUIRE(watches(c).size() == 1);
  CHECK(watches(c)[0].name == "be-5xx");
  CHECK(watches(c)[0].format == "json");
  CHECK(watches(c)[0].window == 5min);
  CHECK(watches(c)[0].min_requests == 20);
  CHECK(watches(c)[0].warning == 5.0);
  CHECK(watches(c)[0].critical == 10.0);

  REQUIRE(checks(c).size() == 1);
  REQUIRE(checks(c)[0].schedule);
  CHECK(checks(c)[0].schedule->text == "0 23 * * *");
  CHECK(checks(c)[0].grace == 30min);
  CHECK_FALSE(checks(c)[0].every);
}

TEST_CASE("origins name where each section, entry and key was defined", "[config]") {
  const Config c = loaded(load(kSpecExample, spec_world()));
  const auto at = [&](const std::string& path) {
    INFO(path);
    REQUIRE(c.origins.count(path) == 1);
    const Position& p = c.origins.at(path);
    CHECK(p.file == "/etc/tend/tend.yaml");
    return std::pair(p.line, p.column);
  };
  CHECK(at("daemon") == std::pair(1, 1));
  CHECK(at("notifiers") == std::pair(16, 1));
  CHECK(at("notifiers.pager") == std::pair(19, 3));
  CHECK(at("jobs") == std::pair(37, 1));
  CHECK(at("jobs.payment_notification") == std::pair(38, 3));
  CHECK(at("jobs.payment_notification.timeout") == std::pair(46, 5));
  CHECK(at("probes.api") == std::pair(60, 3));
  CHECK(at("watches.be-5xx") == std::pair(84, 3));
  CHECK(at("checks.nightly-backup") == std::pair(94, 3));
}

TEST_CASE("defaults: an empty file, a bare daemon: and missing sections", "[config]") {
  FakeWorld world;
  world.hostname = "box-7";
  for (const char* text : {"", "# nothing yet\n", "daemon:\n", "daemon: {}\njobs:\nprobes: {}\n"}) {
    INFO(text);
    const Config c = loaded(load(text, world));
    CHECK(c.daemon.host == "box-7");
    CHECK(c.daemon.environment == "production");
    CHECK(c.daemon.timezone == tend::schedule::system_zone());
    CHECK(c.daemon.socket == "/run/tend/tend.sock");
    CHECK(c.daemon.state_dir == "/var/lib/tend");
    CHECK_FALSE(c.daemon.heartbeat);
    CHECK(jobs(c).empty());
    CHECK(c.notifiers.empty());
    CHECK(c.alerts.routes.empty());  // no notifiers: alerts just go to the log
  }
}

TEST_CASE("a duration without a unit suggests one", "[config][duration]") {
  const auto r = load(R"(
jobs:
  backup:
    schedule: "0 3 * * *"
    command: [/usr/local/bin/backup]
    timeout: 300
)");
  check_at(only_error(r), 5, 14, "jobs.backup.timeout", "duration '300' has no unit: did you mean 300s?");
  CHECK(r.errors[0].to_string() ==
        "/etc/tend/tend.yaml:5:14: jobs.backup.timeout: duration '300' has no unit: did you mean 300s?");
}

TEST_CASE("durations must be positive where zero makes no sense", "[config][duration]") {
  const auto r = load(R"(
probes:
  api: {url: "http://x/", interval: 0s, timeout: -5s}
)");
  check_at(error_at(r, "probes.api.interval"), 2, 37, "probes.api.interval", "must be greater than 0");
  CHECK(error_at(r, "probes.api.timeout").message.find("invalid duration '-5s'") == 0);
  CHECK(r.errors.size() == 2);
}

TEST_CASE("unknown keys are errors at the key, with the nearest known key", "[config][keys]") {
  const auto r = load(R"(
jobs:
  backup:
    schedule: "0 3 * * *"
    command: [/bin/true]
    timout: 5m
    frobnicate: 1
jbos: {}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 3);
  check_at(r.errors[0], 5, 5, "jobs.backup.timout", "unknown key 'timout' (did you mean 'timeout'?)");
  check_at(r.errors[1], 6, 5, "jobs.backup.frobnicate", "unknown key 'frobnicate'");
  check_at(r.errors[2], 7, 1, "jbos", "unknown key 'jbos' (did you mean 'jobs'?)");
}

TEST_CASE("unknown keys in nested sections", "[config][keys]") {
  const auto r = load(R"(
daemon:
  log: {levle: debug}
  history: {keep_run: 5}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 2);
  check_at(r.errors[0], 2, 9, "daemon.log.levle", "unknown key 'levle' (did you mean 'level'?)");
  check_at(r.errors[1], 3, 13, "daemon.history.keep_run", "unknown key 'keep_run' (did you mean 'keep_runs'?)");
}

TEST_CASE("duplicate keys are errors at the second one", "[config][keys]") {
  const auto r = load(R"(
jobs:
  backup:
    schedule: "0 3 * * *"
    command: [/bin/true]
    timeout: 5m
    timeout: 10m
)");
  check_at(only_error(r), 6, 5, "jobs.backup.timeout", "duplicate key 'timeout' (first at line 5, column 5)");
}

TEST_CASE("duplicate top-level sections and duplicate entry names", "[config][keys]") {
  const auto r = load(R"(
jobs:
  a: {schedule: "@daily", shell: "true"}
  a: {schedule: "@hourly", shell: "true"}
jobs: {}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 2);
  check_at(r.errors[0], 3, 3, "jobs.a", "duplicate key 'a' (first at line 2, column 3)");
  check_at(r.errors[1], 4, 1, "jobs", "duplicate key 'jobs' (first at line 1, column 1)");
}

TEST_CASE("names are unique across jobs, probes, watches and checks", "[config][names]") {
  const auto r = load(R"(
probes:
  api: {url: "http://127.0.0.1/health"}
jobs:
  api: {schedule: "@daily", shell: "true"}
checks:
  api: {every: 1h}
notifiers:
  api: {type: webhook, url: "https://x.invalid/"}
alerts:
  routes: [{notify: [api]}]
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 2);  // notifiers are their own namespace
  check_at(r.errors[0], 4, 3, "jobs.api", "name 'api' is already used by probes.api at /etc/tend/tend.yaml:2:3");
  check_at(r.errors[1], 6, 3, "checks.api", "name 'api' is already used by probes.api at /etc/tend/tend.yaml:2:3");
}

TEST_CASE("names must match [A-Za-z0-9_.-]+", "[config][names]") {
  const auto r = load(R"(
jobs:
  "nightly backup": {schedule: "@daily", shell: "true"}
)");
  check_at(only_error(r), 2, 3, "jobs.nightly backup",
           "invalid name 'nightly backup' (letters, digits, '_', '.' and '-' only, at most 128)");
}

TEST_CASE("wrong types are errors that say what was expected", "[config][types]") {
  const auto r = load(R"(
daemon: [a, b]
jobs:
  j:
    schedule: "@daily"
    command: "python3 /app/x.py"
    catch_up: yes
    retries: {max: many}
    env: [A=1]
probes: "http://secret.invalid/"
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 6);
  check_at(error_at(r, "daemon"), 1, 9, "daemon", "expected a mapping, got a list");
  check_at(error_at(r, "jobs.j.command"), 5, 14, "jobs.j.command", "expected a list of strings, got a string");
  check_at(error_at(r, "jobs.j.catch_up"), 6, 15, "jobs.j.catch_up", "expected true or false, got 'yes'");
  check_at(error_at(r, "jobs.j.retries.max"), 7, 20, "jobs.j.retries.max", "expected an integer, got 'many'");
  check_at(error_at(r, "jobs.j.env"), 8, 10, "jobs.j.env", "expected a mapping, got a list");
  // A scalar in the wrong place is not echoed: it may be a URL with a token.
  check_at(error_at(r, "probes"), 9, 9, "probes", "expected a mapping, got a string");
}

TEST_CASE("list items of the wrong type name their index", "[config][types]") {
  const auto r = load(R"(
jobs:
  j: {schedule: "@daily", command: [ls, {a: b}], alert_on: [failure, boom]}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 2);
  check_at(r.errors[0], 2, 41, "jobs.j.command[1]", "expected a list of strings, got a mapping in it");
  check_at(r.errors[1], 2, 70, "jobs.j.alert_on[1]",
           "unknown alert_on event 'boom' (known: failure, timeout, slow, missed)");
}

// Found by fuzz_crontab: a NUL in a value passed the loader (and `tendd --check`), though exec,
// open and the environment cut a string there, so a job would have run a different command.
TEST_CASE("a NUL byte in any value is an error at its key", "[config][types]") {
  FakeWorld world;
  world.files = {{"/etc/tend/arg", std::string("a\0b", 3)}};
  const auto r = load(R"(
jobs:
  a: {schedule: "@daily", shell: "echo a\0b"}
  b: {schedule: "@daily", command: [echo, "a\0b", "${file:/etc/tend/arg}"], env: {X: "a\0b"}}
  c: {schedule: "@daily", command: [ls], workdir: "/srv\0/app"}
)",
                      world);
  INFO(dump(r));
  REQUIRE(r.errors.size() == 5);
  check_at(error_at(r, "jobs.a.shell"), 2, 34, "jobs.a.shell", "must not contain a NUL byte");
  CHECK(error_at(r, "jobs.b.command[1]").message == "must not contain a NUL byte");
  CHECK(error_at(r, "jobs.b.command[2]").message == "must not contain a NUL byte");
  CHECK(error_at(r, "jobs.b.env.X").message == "must not contain a NUL byte");
  CHECK(error_at(r, "jobs.c.workdir").message == "must not contain a NUL byte");
}

TEST_CASE("integers are checked against their range", "[config][types]") {
  const auto r = load(R"(
daemon:
  history: {keep_runs: 0, keep_days: 30d}
probes:
  p: {url: "http://x/", failure_threshold: 99999999999999999999999}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 3);
  check_at(r.errors[0], 2, 24, "daemon.history.keep_runs", "must be at least 1");
  check_at(r.errors[1], 2, 38, "daemon.history.keep_days", "expected an integer, got '30d'");
  check_at(r.errors[2], 4, 44, "probes.p.failure_threshold", "must be between 1 and 1000");
}

TEST_CASE("${env:NAME} and ${env:NAME:-default}", "[config][interpolate]") {
  FakeWorld world;
  world.env = {{"ENVIRONMENT", "staging"}, {"EMPTY", ""}};
  const Config c = loaded(load(R"(
daemon:
  environment: "${env:ENVIRONMENT}"
  host: "${env:HOST_NAME:-web-${env:X:-1}}"
  socket_group: "${env:EMPTY:-tend}"
  state_dir: /var/lib/${env:ENVIRONMENT}/tend
jobs:
  j: {schedule: "@daily", shell: "true", timeout: "${env:JOB_TIMEOUT:-90s}"}
)",
                               world));
  CHECK(c.daemon.environment == "staging");
  // The default runs to the first '}'; nesting is not supported, the rest is literal text.
  CHECK(c.daemon.host == "web-${env:X:-1}");
  CHECK(c.daemon.socket_group == "tend");
  CHECK(c.daemon.state_dir == "/var/lib/staging/tend");
  CHECK(jobs(c)[0].timeout == 90s);  // expansion happens before typed parsing
}

TEST_CASE("a missing environment variable is an error naming it", "[config][interpolate]") {
  const auto r = load(R"(
notifiers:
  slack: {type: slack, url: "${env:SLACK_WEBHOOK_URL}"}
alerts:
  routes: [{notify: [slack]}]
)");
  check_at(only_error(r), 2, 29, "notifiers.slack.url", "environment variable 'SLACK_WEBHOOK_URL' is not set");
}

TEST_CASE("${file:/path} is read and trimmed; a missing file is an error", "[config][interpolate]") {
  FakeWorld world;
  world.files = {{"/etc/tend/token", "  s3cr3t-token \n\n"}};
  const Config c = loaded(load(R"(
notifiers:
  hook: {type: webhook, url: "https://x.invalid/", headers: {X-Token: "${file:/etc/tend/token}"}}
alerts: {routes: [{notify: [hook]}]}
)",
                               world));
  CHECK(c.notifiers[0].headers.at("X-Token") == "s3cr3t-token");

  const auto r = load(R"(
daemon:
  heartbeat: {url: "${file:/etc/tend/missing.url}"}
)",
                      world);
  check_at(only_error(r), 2, 20, "daemon.heartbeat.url",
           "cannot read file '/etc/tend/missing.url' (from ${file:/etc/tend/missing.url})");
}

TEST_CASE("${cred:NAME} reads from $CREDENTIALS_DIRECTORY", "[config][interpolate]") {
  const std::string text = R"(
daemon:
  heartbeat: {url: "https://hc-ping.com/${cred:hc_uuid}"}
)";
  FakeWorld world;
  world.files = {{"/run/credentials/tend.service/hc_uuid", "abcd-1234\n"}};

  SECTION("without a credentials directory") {
    check_at(only_error(load(text, world)), 2, 20, "daemon.heartbeat.url",
             "credential 'hc_uuid': no credentials directory ($CREDENTIALS_DIRECTORY is not set; use "
             "LoadCredential= in the unit)");
  }
  SECTION("with one") {
    world.credentials_dir = "/run/credentials/tend.service";
    const Config c = loaded(load(text, world));
    CHECK(c.daemon.heartbeat->url == "https://hc-ping.com/abcd-1234");
  }
  SECTION("a missing credential") {
    world.credentials_dir = "/run/credentials/other";
    check_at(only_error(load(text, world)), 2, 20, "daemon.heartbeat.url",
             "credential 'hc_uuid' not found in /run/credentials/other");
  }
}

TEST_CASE("malformed ${...} is an error", "[config][interpolate]") {
  const auto r = load(R"(
daemon:
  environment: "${env:X"
  admin_group: "${cred:../etc/shadow}"
  socket_group: "${file:}"
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 3);
  check_at(r.errors[0], 2, 16, "daemon.environment",
           "unterminated '${' (expected ${env:NAME}, ${file:/path} or ${cred:NAME}; write $${ for a literal ${)");
  check_at(r.errors[1], 3, 16, "daemon.admin_group", "credential name '../etc/shadow' must not contain '/'");
  check_at(r.errors[2], 4, 17, "daemon.socket_group", "${file:...} needs a path");
}

TEST_CASE("shell strings keep their ${...}; $${ is a literal ${", "[config][interpolate]") {
  FakeWorld world;
  world.env = {{"APP", "/srv/app"}};
  const Config c = loaded(load(R"(
daemon:
  host: "${nosource}"
jobs:
  home: {schedule: "@daily", shell: "echo ${HOME} ${1:-x} ${foo:x} $HOME ${PATH"}
  mixed: {schedule: "@daily", shell: "cd ${env:APP} && echo ${PWD}"}
  escaped: {schedule: "@daily", shell: "echo $${env:APP} $$${HOME} $$"}
)",
                               world));
  CHECK(c.daemon.host == "${nosource}");
  REQUIRE(jobs(c).size() == 3);
  CHECK(jobs(c)[0].shell == "echo ${HOME} ${1:-x} ${foo:x} $HOME ${PATH");
  CHECK(jobs(c)[1].shell == "cd /srv/app && echo ${PWD}");
  CHECK(jobs(c)[2].shell == "echo ${env:APP} $${HOME} $$");
}

TEST_CASE("resolved secrets never appear in error messages", "[config][interpolate][secrets]") {
  FakeWorld world;
  world.env = {{"HOOK", "ftp://user:TOPSECRET@hooks.invalid/x"},
               {"TYPE", "TOPSECRET"},
               {"TIMEOUT", "TOPSECRET"},
               {"COUNT", "TOPSECRET"}};
  const auto r = load(R"(
notifiers:
  a: {type: webhook, url: "${env:HOOK}"}
  b: {type: "${env:TYPE}", url: "https://hooks.invalid/TOPSECRET", timeout: "${env:TIMEOUT}"}
  c: {type: slack, url: "gopher://TOPSECRET"}
probes:
  p: {url: "${env:HOOK}", failure_threshold: "${env:COUNT}", headers: {A: "x${env:HOOK}\r\nB: 1"}}
alerts: {routes: [{notify: [a]}]}
)",
                      world);
  INFO(dump(r));
  CHECK(r.errors.size() == 7);
  for (const auto& e : r.errors) {
    CHECK(e.to_string().find("TOPSECRET") == std::string::npos);
  }
  check_at(error_at(r, "notifiers.a.url"), 2, 27, "notifiers.a.url", "url must start with http:// or https://");
  CHECK(error_at(r, "notifiers.b.type").message ==
        "unknown notifier type '${env:TYPE}' (expanded) (known: slack, discord, webhook, pagerduty)");
  CHECK(error_at(r, "notifiers.b.timeout").message ==
        "'${env:TIMEOUT}' (expanded) is not a valid duration (e.g. 30s, 5m)");
  CHECK(error_at(r, "probes.p.failure_threshold").message == "'${env:COUNT}' (expanded) is not an integer");
  CHECK(error_at(r, "probes.p.headers.A").message == "header values must not contain line breaks or NUL");
}

TEST_CASE("a check that quotes its value shows the ${...} text, not what it resolved to", "[config][fuzz][secrets]") {
  // Found by the config fuzzer: a schedule (whose parser quotes the value it cannot read) took a
  // secret from the environment, and the error printed it. Every message is now kept free of every
  // value a ${...} gave in this load, whichever check wrote it.
  FakeWorld world;
  world.env = {{"TOKEN", "s3cret-from-env"}, {"PORT", "80"}};
  const auto r = load(R"(
jobs:
  b: {schedule: "@ever${env:TOKEN}", command: [/bin/true]}
  c: {schedule: "${env:TOKEN} * * * *", command: [/bin/true]}
  d: {schedule: "@evconf.d/*.yamlerhooks.example/${env:TOKEN}", command: [/bin/true]}
  e: {schedule: "@everhooks.example6\x01\x01\x01\x01\x01\x01\x01/${env:TOKEN}", command: [/bin/true]}
alerts: {routes: [{notify: []}]}
)",
                      world);
  INFO(dump(r));
  REQUIRE(r.errors.size() == 4);
  for (const auto& e : r.errors) {
    CHECK(e.to_string().find("s3cret") == std::string::npos);
  }
  CHECK_THAT(error_at(r, "jobs.b.schedule").message, Catch::Contains("@ever${env:TOKEN}"));
  CHECK(error_at(r, "jobs.c.schedule").message == "minute field: invalid value ***");  // a piece of it
  // Found by the fuzzer next: the parser quotes the value cut at 40 bytes ("@evconf.d/...s3cret-f..."),
  // which is neither the secret nor a piece of it, but a cut of the value it made.
  CHECK_THAT(error_at(r, "jobs.d.schedule").message, Catch::StartsWith("unknown macro ***"));
  // And then the value escaped and cut: "@everhooks.example6\x01...\x01/s3cret-from-e...".
  CHECK(error_at(r, "jobs.e.schedule").message == "unknown macro ***...");
}

TEST_CASE("the interpolation helper on its own", "[config][interpolate]") {
  FakeWorld world;
  world.env = {{"A", "1"}};
  const Sources s = world.sources();
  CHECK(has_interpolation("x${env:A}"));
  CHECK_FALSE(has_interpolation("$HOME and {braces}"));
  CHECK(interpolate("a${env:A}b${env:A}c", s).value() == "a1b1c");
  CHECK(interpolate("$A ${env:B:-} $", s).value() == "$A  $");
  CHECK(interpolate("${env:}", s).error() == "${env:...} needs a variable name");
  CHECK(interpolate("${file:}", s).error() == "${file:...} needs a path");
  CHECK_FALSE(has_interpolation("echo ${HOME} ${USER:-x} ${foo:bar}"));
  CHECK(has_interpolation("echo $${HOME}"));
  CHECK(interpolate("${HOME} ${x:y} ${env:A} $${env:A} $$ $", s).value() == "${HOME} ${x:y} 1 ${env:A} $$ $");
}

TEST_CASE("escape_interpolation: any text reads back unchanged", "[config][interpolate]") {
  FakeWorld world;
  world.env = {{"A", "1"}};
  const Sources s = world.sources();
  CHECK(escape_interpolation("echo ${HOME}") == "echo ${HOME}");  // nothing to escape: kept as people write it
  CHECK(escape_interpolation("${env:A}") == "$${env:A}");
  CHECK(escape_interpolation("$${HOME}") == "$$${HOME}");
  // Random strings over the alphabet that matters.
  std::mt19937 rng(12);
  const std::string alphabet = "${}:envfilcrd-A ";
  for (int n = 0; n < 20000; ++n) {
    std::string text;
    const auto len = std::uniform_int_distribution<int>(0, 14)(rng);
    for (int i = 0; i < len; ++i) {
      text.push_back(alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)]);
    }
    const auto back = interpolate(escape_interpolation(text), s);
    INFO("text: " << text << " escaped: " << escape_interpolation(text));
    REQUIRE(back.ok());
    REQUIRE(*back == text);
  }
}

TEST_CASE("include: globs relative to the including file, entries merged", "[config][include]") {
  FakeWorld world;
  world.globs = {{"/etc/tend/conf.d/*.yaml", {"/etc/tend/conf.d/a.yaml", "/etc/tend/conf.d/b.yaml"}},
                 {"/srv/empty/*.yaml", {}}};
  world.files = {{"/etc/tend/conf.d/a.yaml", "jobs:\n  a: {schedule: '@daily', shell: 'true'}\n"},
                 {"/etc/tend/conf.d/b.yaml",
                  "notifiers:\n  hook: {type: webhook, url: 'https://x.invalid/'}\nprobes:\n  b: {url: 'http://b/'}\n"},
                 {"/etc/tend/extra.yaml", "checks:\n  c: {every: 1h}\n"}};
  const Config c = loaded(load(R"(
include: [conf.d/*.yaml, /srv/empty/*.yaml, extra.yaml]
jobs:
  main: {schedule: "@hourly", shell: "true"}
alerts: {routes: [{notify: [hook]}]}
)",
                               world));
  CHECK(c.include == std::vector<std::string>{"conf.d/*.yaml", "/srv/empty/*.yaml", "extra.yaml"});
  REQUIRE(jobs(c).size() == 2);
  CHECK(jobs(c)[0].name == "main");
  CHECK(jobs(c)[1].name == "a");
  CHECK(probes(c).size() == 1);
  CHECK(c.notifiers.size() == 1);
  CHECK(checks(c).size() == 1);
  CHECK(c.origins.at("jobs.a").file == "/etc/tend/conf.d/a.yaml");
  CHECK(c.origins.at("jobs.a").line == 2);
  CHECK(c.origins.at("probes.b").file == "/etc/tend/conf.d/b.yaml");
}

TEST_CASE("errors in included files carry the included file's name", "[config][include]") {
  FakeWorld world;
  world.globs = {{"/etc/tend/conf.d/*.yaml", {"/etc/tend/conf.d/a.yaml", "/etc/tend/conf.d/b.yaml"}}};
  world.files = {{"/etc/tend/conf.d/a.yaml",
                  "daemon:\n  host: x\ninclude: [more/*.yaml]\njobs:\n  backup: {schedule: '@daily', shell: 'true', "
                  "timeout: 300}\n"},
                 {"/etc/tend/conf.d/b.yaml", "probes:\n  backup: {url: 'http://x/'}\n  bad: [\n"}};
  const auto r = load(R"(
include: [conf.d/*.yaml, missing.yaml]
jobs:
  backup: {schedule: "@daily", shell: "true"}
)",
                      world);
  INFO(dump(r));
  REQUIRE(r.errors.size() == 6);
  const auto at = [&](std::size_t i, const std::string& file, int line, int column, const std::string& path) {
    INFO(r.errors[i].to_string());
    CHECK(r.errors[i].pos.file == file);
    CHECK(r.errors[i].pos.line == line);
    CHECK(r.errors[i].pos.column == column);
    CHECK(r.errors[i].key_path == path);
    return r.errors[i].message;
  };
  // Errors come in file order: the main file first, then the includes as they were loaded.
  CHECK(at(0, "/etc/tend/tend.yaml", 1, 26, "include[1]") ==
        "cannot read included file '/etc/tend/missing.yaml' (does it exist?)");
  CHECK(at(1, "/etc/tend/conf.d/a.yaml", 1, 1, "daemon") ==
        "'daemon' is only allowed in the main config file (included files may contain notifiers, jobs, probes, "
        "watches, checks)");
  CHECK(at(2, "/etc/tend/conf.d/a.yaml", 3, 1, "include") ==
        "includes do not nest: 'include' is only allowed in the main config file");
  CHECK(at(3, "/etc/tend/conf.d/a.yaml", 5, 3, "jobs.backup") ==
        "name 'backup' is already used by jobs.backup at /etc/tend/tend.yaml:3:3");
  CHECK(at(4, "/etc/tend/conf.d/a.yaml", 5, 56, "jobs.backup.timeout") ==
        "duration '300' has no unit: did you mean 300s?");
  // A YAML error in b.yaml is reported at its position; nothing else of b.yaml is read.
  CHECK(at(5, "/etc/tend/conf.d/b.yaml", 4, 1, "") == "end of sequence flow not found");
}

TEST_CASE("schedules are parsed in the job's zone; bad ones are errors", "[config][schedule]") {
  const auto r = load(R"(
daemon: {timezone: Mars/Olympus}
jobs:
  never: {schedule: "0 0 30 2 *", shell: "true"}
  badtz: {schedule: "@daily", timezone: Nowhere/City, shell: "true"}
  fine: {schedule: "30 2 * * *", timezone: America/New_York, shell: "true"}
checks:
  c: {schedule: "61 * * * *"}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 4);
  const auto never = tend::schedule::parse_schedule("0 0 30 2 *", nullptr);
  REQUIRE_FALSE(never.ok());
  check_at(error_at(r, "daemon.timezone"), 1, 20, "daemon.timezone", tend::schedule::find_zone("Mars/Olympus").error());
  check_at(error_at(r, "jobs.never.schedule"), 3, 21, "jobs.never.schedule", never.error());
  check_at(error_at(r, "jobs.badtz.timezone"), 4, 41, "jobs.badtz.timezone",
           tend::schedule::find_zone("Nowhere/City").error());
  check_at(error_at(r, "checks.c.schedule"), 7, 17, "checks.c.schedule",
           tend::schedule::parse_schedule("61 * * * *", nullptr).error());
}

TEST_CASE("a job has exactly one of command, shell, builtin", "[config][jobs]") {
  const auto r = load(R"(
jobs:
  none: {schedule: "@daily"}
  two: {schedule: "@daily", command: [ls], shell: ls}
  empty: {schedule: "@daily", command: []}
  unknown: {schedule: "@daily", builtin: report}
  nosched: {shell: "true"}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 5);
  check_at(r.errors[0], 2, 3, "jobs.none", "exactly one of command, shell or builtin is required");
  check_at(r.errors[1], 3, 44, "jobs.two.shell",
           "exactly one of command, shell or builtin is allowed ('command' is also set)");
  check_at(r.errors[2], 4, 40, "jobs.empty.command", "must not be empty");
  check_at(r.errors[3], 5, 42, "jobs.unknown.builtin", "unknown builtin 'report' (known: digest)");
  check_at(r.errors[4], 6, 3, "jobs.nosched", "missing required key 'schedule'");
}

TEST_CASE("job fields: enums, users, env names, retries", "[config][jobs]") {
  const auto r = load(R"(
jobs:
  j:
    schedule: "@daily"
    shell: "true"
    concurrency: queue
    user: Root
    env: {1BAD: x}
    workdir: app
    retries: {max: -1, backoff: linear}
    severity: urgent
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 7);
  check_at(r.errors[0], 5, 18, "jobs.j.concurrency", "unknown concurrency 'queue' (known: forbid, allow, replace)");
  check_at(r.errors[1], 6, 11, "jobs.j.user",
           "invalid user name 'Root' (expected [a-z_][a-z0-9_-]*, at most 32 characters)");
  check_at(r.errors[2], 7, 11, "jobs.j.env.1BAD",
           "invalid environment variable name '1BAD' (expected [A-Za-z_][A-Za-z0-9_]*)");
  check_at(r.errors[3], 8, 14, "jobs.j.workdir", "expected an absolute path, got 'app'");
  check_at(r.errors[4], 9, 20, "jobs.j.retries.max", "must be at least 0");
  check_at(r.errors[5], 9, 33, "jobs.j.retries.backoff", "unknown backoff 'linear' (known: fixed, exponential)");
  check_at(r.errors[6], 10, 15, "jobs.j.severity", "unknown severity 'urgent' (known: info, warning, critical)");
}

TEST_CASE("env_inherit cannot pass systemd's channels to the daemon on", "[config][jobs][env]") {
  const auto r = load(R"(
jobs:
  j:
    schedule: "@daily"
    command: ["true"]
    env_inherit: [DATABASE_URL, NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS, CREDENTIALS_DIRECTORY]
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 4);
  check_at(r.errors[0], 5, 33, "jobs.j.env_inherit[1]",
           "'NOTIFY_SOCKET' is systemd's channel to tendd itself and is never passed to a child");
  CHECK(r.errors[1].key_path == "jobs.j.env_inherit[2]");
  CHECK(r.errors[2].key_path == "jobs.j.env_inherit[3]");
  CHECK(r.errors[3].key_path == "jobs.j.env_inherit[4]");
}

TEST_CASE("notifiers: type from the registry, url checked without echoing it", "[config][notifiers]") {
  const auto r = load(R"(
notifiers:
  t: {type: teams, url: "https://x.invalid/"}
  u: {type: slack, url: "hooks.slack.com/services/T0/B0/XYZ"}
  v: {type: webhook}
alerts:
  routes: [{notify: [t, u, v]}]
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 3);
  check_at(r.errors[0], 2, 13, "notifiers.t.type",
           "unknown notifier type 'teams' (known: slack, discord, webhook, pagerduty)");
  check_at(r.errors[1], 3, 25, "notifiers.u.url", "url must start with http:// or https://");
  check_at(r.errors[2], 4, 3, "notifiers.v", "missing required key 'url'");
  for (const auto& e : r.errors) {
    CHECK(e.to_string().find("XYZ") == std::string::npos);
  }
}

TEST_CASE("urls: the port, when given, is 1 to 65535", "[config][notifiers]") {
  const auto r = load(R"(
notifiers:
  a: {type: webhook, url: "http://127.0.0.1:99999/SECRET"}
  b: {type: webhook, url: "http://user:pw@host:0/x"}
  c: {type: webhook, url: "http://host:8x/x"}
  d: {type: webhook, url: "http://[::1]:8080/x"}
  e: {type: webhook, url: "https://[::1]/x"}
  f: {type: webhook, url: "http://host:65535"}
alerts:
  routes: [{notify: [a, b, c, d, e, f]}]
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 3);
  check_at(r.errors[0], 2, 27, "notifiers.a.url", "url port must be a number from 1 to 65535");
  check_at(r.errors[1], 3, 27, "notifiers.b.url", "url port must be a number from 1 to 65535");
  check_at(r.errors[2], 4, 27, "notifiers.c.url", "url port must be a number from 1 to 65535");
  CHECK(r.errors[0].to_string().find("SECRET") == std::string::npos);
}

TEST_CASE("a default route is required once there are notifiers", "[config][alerts]") {
  SECTION("no alerts section") {
    const auto r = load(R"(
notifiers:
  slack: {type: slack, url: "https://hooks.invalid/x"}
)");
    check_at(only_error(r), 1, 1, "alerts.routes",
             "a default route (no match) is required: add `alerts: {routes: [{notify: [...]}]}`");
  }
  SECTION("the last route has a match") {
    const auto r = load(R"(
notifiers:
  slack: {type: slack, url: "https://hooks.invalid/x"}
alerts:
  routes:
    - notify: [slack]
    - match: {kind: job}
      notify: [slack]
)");
    INFO(dump(r));
    REQUIRE(r.errors.size() == 2);
    check_at(r.errors[0], 5, 7, "alerts.routes[0]",
             "the default route (no match) must be the last route: the routes after it are never reached");
    check_at(r.errors[1], 6, 7, "alerts.routes[1]", "the last route must be the default route (no match)");
  }
  SECTION("a catch-all that continues may come first; an empty match is a default route") {
    const Config c = loaded(load(R"(
notifiers:
  slack: {type: slack, url: "https://hooks.invalid/x"}
  archive: {type: webhook, url: "https://archive.invalid/x"}
alerts:
  routes:
    - {notify: [archive], continue: true}
    - {match: {}, notify: [slack]}
)"));
    CHECK(c.alerts.routes[0].continue_matching);
    CHECK(c.alerts.routes[1].match == RouteMatch{});
  }
}

TEST_CASE("routes name existing notifiers", "[config][alerts]") {
  const auto r = load(R"(
notifiers:
  team-slack: {type: slack, url: "https://hooks.invalid/x"}
alerts:
  routes:
    - match: {kind: jobs, severity: critical, name: "db-*"}
      notify: [team-slak]
    - notify: [team-slack]
  escalate: {after: 30m, notify: []}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 3);
  check_at(r.errors[0], 5, 21, "alerts.routes[0].match.kind",
           "unknown kind 'jobs' (known: job, probe, watch, check, daemon)");
  check_at(r.errors[1], 6, 16, "alerts.routes[0].notify[0]",
           "unknown notifier 'team-slak' (did you mean 'team-slack'?)");
  check_at(r.errors[2], 8, 34, "alerts.escalate.notify", "must not be empty");
}

TEST_CASE("probes: statuses, regex, json, remedies", "[config][probes]") {
  const Config c = loaded(load(R"(
probes:
  a:
    url: https://example.invalid/health
    unix_socket: /run/app.sock
    method: HEAD
    follow_redirects: true
    reuse_connection: false
    expect:
      status: ["2xx", 301, "400-404"]
      body_regex: "ok|fine"
      json: {path: /status, equals: ok}
    remedy:
      restart: {systemd: app@1.service}
  b:
    url: http://b/
    expect: {status: 204}
    remedy: {restart: {exec: [/usr/bin/systemctl, restart, b]}, notify: all}
  c:
    url: http://c/
)"));
  REQUIRE(probes(c).size() == 3);
  const ProbeConfig a = probes(c)[0];
  CHECK(a.unix_socket == "/run/app.sock");
  CHECK(a.method == "HEAD");
  CHECK(a.follow_redirects);
  CHECK_FALSE(a.reuse_connection);
  CHECK(probes(c)[1].reuse_connection);  // default
  CHECK(a.expect.status == std::vector<StatusRange>{{200, 299}, {301, 301}, {400, 404}});
  CHECK(a.expect.body_regex == "ok|fine");
  CHECK(a.expect.json == tend::probes::JsonExpect{"/status", "ok"});
  CHECK(restart_is(a.remedy, "{systemd: app@1.service}"));
  CHECK(a.remedy->notify == RemedyNotify::all);  // model default
  CHECK(probes(c)[1].expect.status == std::vector<StatusRange>{{204, 204}});
  CHECK(restart_is(probes(c)[1].remedy, "{exec: [/usr/bin/systemctl, restart, b]}"));
  CHECK(probes(c)[2].expect.status == std::vector<StatusRange>{{200, 299}});  // default
  CHECK(probes(c)[2].interval == 30s);
  CHECK_FALSE(probes(c)[2].remedy);
}

TEST_CASE("probe errors", "[config][probes]") {
  const auto r = load(R"(
probes:
  a:
    url: http://a/
    method: FETCH
    expect:
      status: [200, "6xx"]
      body_regex: "([a-z]"
      json: {path: status, equals: ok}
    success_threshold: 0
  b:
    url: http://b/
    remedy:
      restart: {systemd: "app", user: root}
      max_restarts: 0
  c:
    url: http://c/
    remedy: {restart: {pm2: "api; rm -rf /", systemd: x.service}}
  d:
    url: http://d/
    remedy: {restart: {pm2: "my-api", user: "ubuntu"}, notify: some}
  e:
    remedy: {restart: {launchd: x}}
)");
  INFO(dump(r));
  CHECK(error_at(r, "probes.a.method").message ==
        "unknown method 'FETCH' (known: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)");
  check_at(error_at(r, "probes.a.expect.status[1]"), 6, 21, "probes.a.expect.status[1]",
           "expected a status code 100-599 or a class like 2xx, got '6xx'");
  CHECK(error_at(r, "probes.a.expect.body_regex").message.rfind("invalid regex (POSIX extended): ", 0) == 0);
  CHECK(error_at(r, "probes.a.expect.json.path").message ==
        "expected a JSON pointer starting with '/' (e.g. /status), got 'status'");
  CHECK(error_at(r, "probes.a.success_threshold").message == "must be at least 1");
  CHECK(error_at(r, "probes.b.remedy.restart.systemd").message ==
        "systemd unit 'app' needs a unit suffix (e.g. .service, .socket, .target, .timer)");
  check_at(error_at(r, "probes.b.remedy.restart.user"), 13, 33, "probes.b.remedy.restart.user",
           "'user' applies only to pm2 restarts");
  CHECK(error_at(r, "probes.b.remedy.max_restarts").message == "must be at least 1");
  CHECK(error_at(r, "probes.c.remedy.restart.systemd").message ==
        "exactly one of pm2, systemd or exec is allowed ('pm2' is also set)");
  CHECK(error_at(r, "probes.d.remedy.notify").message == "unknown notify 'some' (known: all, failures)");
  check_at(error_at(r, "probes.e"), 21, 3, "probes.e", "missing required key 'url'");
  CHECK(error_at(r, "probes.e.remedy.restart").message == "exactly one of pm2, systemd or exec is required");
  CHECK(error_at(r, "probes.e.remedy.restart.launchd").message == "unknown key 'launchd'");
  CHECK(r.errors.size() == 13);

  const auto bad_pm2 = load("probes:\n  p: {url: 'http://p/', remedy: {restart: {pm2: 'api; rm -rf /'}}}\n");
  check_at(only_error(bad_pm2), 2, 49, "probes.p.remedy.restart.pm2",
           "invalid pm2 app name 'api; rm -rf /' (letters, digits and _ . @ : - only)");
}

TEST_CASE("watches: percentages and thresholds", "[config][watches]") {
  const Config c = loaded(load(R"(
watches:
  a: {file: /var/log/a.log, warning: 2.5%, critical: 7}
  b: {file: /var/log/b.log}
)"));
  CHECK(watches(c)[0].warning == 2.5);
  CHECK(watches(c)[0].critical == 7.0);
  CHECK(watches(c)[1].format == "combined");
  CHECK(watches(c)[1].warning == 5.0);

  const auto r = load(R"(
watches:
  a: {file: /var/log/a.log, warning: 20%, critical: 10%}
  b: {file: /var/log/b.log, warning: 101%, min_requests: 0}
  c: {file: /var/log/c.log, critical: 3%}
  d: {file: log/d.log, format: xml}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 6);
  check_at(r.errors[0], 2, 53, "watches.a.critical", "warning (20%) must be below critical (10%)");
  check_at(r.errors[1], 3, 38, "watches.b.warning", "expected a percentage from 0 to 100 (e.g. 5%), got '101%'");
  check_at(r.errors[2], 3, 58, "watches.b.min_requests", "must be at least 1");
  check_at(r.errors[3], 4, 39, "watches.c.critical", "warning (5%) must be below critical (3%)");
  check_at(r.errors[4], 5, 13, "watches.d.file", "expected an absolute path, got 'log/d.log'");
  check_at(r.errors[5], 5, 32, "watches.d.format", "unknown format 'xml' (known: json, combined)");
}

TEST_CASE("checks: schedule or every", "[config][checks]") {
  const Config c = loaded(load(R"(
checks:
  a: {every: 1h, grace: 0s, severity: warning}
  b: {schedule: "0 23 * * *", timezone: Asia/Seoul}
)"));
  CHECK(checks(c)[0].every == 1h);
  CHECK_FALSE(checks(c)[0].schedule);
  CHECK(checks(c)[0].grace == 0ms);
  CHECK(checks(c)[0].severity == Severity::warning);
  CHECK(checks(c)[1].schedule->zone == date::locate_zone("Asia/Seoul"));

  const auto r = load(R"(
checks:
  a: {every: 1h, schedule: "@daily"}
  b: {grace: 5m}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 2);
  check_at(r.errors[0], 2, 18, "checks.a.schedule",
           "exactly one of schedule or every is allowed ('every' is also set)");
  check_at(r.errors[1], 3, 3, "checks.b", "exactly one of schedule or every is required");
}

TEST_CASE("daemon fields", "[config][daemon]") {
  const auto r = load(R"(
daemon:
  socket: ""
  log: {level: verbose, format: xml}
  heartbeat: {interval: 1m}
  metrics: {listen: "9717"}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 5);
  check_at(r.errors[0], 2, 11, "daemon.socket", "must not be empty");
  check_at(r.errors[1], 3, 16, "daemon.log.level",
           "unknown log level 'verbose' (known: trace, debug, info, warning, error, critical, off)");
  check_at(r.errors[2], 3, 33, "daemon.log.format", "unknown log format 'xml' (known: text, json)");
  check_at(r.errors[3], 4, 3, "daemon.heartbeat", "missing required key 'url'");
  check_at(r.errors[4], 5, 21, "daemon.metrics.listen", "listen must be HOST:PORT (e.g. 127.0.0.1:9717 or [::1]:9717)");

  const Config c = loaded(load("daemon: {metrics: {listen: '[::1]:9100'}, log: {format: json}}\n"));
  CHECK(c.daemon.metrics->listen == "[::1]:9100");
  CHECK(c.daemon.log.format == "json");

  // The daemon binds what parse_listen reads: a name it would have to resolve, or port 0, is
  // refused here, by the same code.
  for (const auto& [value, message] : std::vector<std::pair<std::string, std::string>>{
           {"example.com:9717", "listen host must be an IP address or localhost, not 'example.com'"},
           {"127.0.0.1:0", "listen port must be 1-65535"},
           {"127.0.0.1:70000", "listen port must be 1-65535"}}) {
    const auto bad = load("daemon:\n  metrics: {listen: '" + value + "'}\n");
    INFO(dump(bad));
    REQUIRE(bad.errors.size() == 1);
    check_at(bad.errors[0], 2, 21, "daemon.metrics.listen", message);
  }
  CHECK(loaded(load("daemon: {metrics: {listen: 'localhost:9717'}}\n")).daemon.metrics->listen == "localhost:9717");
}

TEST_CASE("relative state_dir and socket are relative to the main file's folder", "[config][daemon]") {
  const auto r =
      load_text("daemon: {state_dir: ../.tend, socket: run/tend.sock}\n", "/etc/tend/tend.yaml", FakeWorld{}.sources());
  INFO(dump(r));
  REQUIRE(r.config);
  CHECK(r.config->daemon.state_dir == "/etc/.tend");
  CHECK(r.config->daemon.socket == "/etc/tend/run/tend.sock");
}

TEST_CASE("YAML syntax errors, non-mapping documents, several documents", "[config][yaml]") {
  check_at(only_error(load("jobs:\n  a: [1, 2\n")), 3, 1, "", "end of sequence flow not found");
  check_at(only_error(load("- a\n- b\n")), 1, 1, "", "the top level must be a mapping (daemon:, jobs:, probes:, ...)");
  check_at(only_error(load("just text\n")), 1, 1, "", "the top level must be a mapping (daemon:, jobs:, probes:, ...)");
  check_at(only_error(load("daemon: {}\n---\njobs: {}\n")), 2, 1, "",
           "only one YAML document (---) is allowed per file");
  // yaml-cpp 0.7 would loop forever on these (jbeder/yaml-cpp#1040).
  check_at(only_error(load(",")), 1, 1, "", "unexpected ','");
  check_at(only_error(load("daemon: {}\n---\n, jobs:\n")), 2, 1, "",
           "only one YAML document (---) is allowed per file");
  // Nesting is bounded before yaml-cpp's recursive parser can go deep.
  const std::string deep = "jobs: " + std::string(100, '[') + std::string(100, ']') + "\n";
  check_at(only_error(load(deep)), 1, 70, "", "the document is nested too deeply (more than 64 levels)");
  const auto tab = only_error(load("daemon:\n\thost: x\n"));
  CHECK(tab.pos.line == 2);
  CHECK(tab.to_string().rfind("/etc/tend/tend.yaml:2:", 0) == 0);
}

TEST_CASE("anchors, aliases and merge keys", "[config][yaml]") {
  const Config c = loaded(load(R"(
jobs:
  a: &defaults {schedule: "@daily", shell: "true", timeout: 5m, retries: {max: 2}}
  b:
    <<: *defaults
    timeout: 1m
  c: {<<: [*defaults], timeout: 2m}
)"));
  REQUIRE(jobs(c).size() == 3);
  CHECK(jobs(c)[1].timeout == 1min);  // explicit keys win over merged ones
  CHECK(jobs(c)[1].retries.max == 2);
  CHECK(jobs(c)[1].shell == "true");
  CHECK(jobs(c)[2].timeout == 2min);

  // A merged key may not be duplicated by itself (`shell: ~` overrides, then is an empty value).
  const auto r = load("jobs:\n  a: &x {schedule: '@daily', shell: 'true'}\n  b: {<<: *x, shell: ~}\n");
  INFO(dump(r));
  CHECK(error_at(r, "jobs.b.shell").message == "expected a string, got an empty value");

  // A self-referencing alias must not loop.
  const auto cyclic = load("daemon: &d\n  log: *d\njobs: &j {x: *j}\n");
  CHECK_FALSE(cyclic.errors.empty());
}

TEST_CASE("ConfigError::to_string", "[config]") {
  CHECK(ConfigError{{"tend.yaml", 12, 14}, "jobs.backup.timeout", "bad"}.to_string() ==
        "tend.yaml:12:14: jobs.backup.timeout: bad");
  CHECK(ConfigError{{"tend.yaml", 3, 1}, "", "end of map not found"}.to_string() ==
        "tend.yaml:3:1: end of map not found");
  CHECK(ConfigError{{"tend.yaml", 0, 0}, "", "cannot read the config file"}.to_string() ==
        "tend.yaml: cannot read the config file");
}

TEST_CASE("load_file reads through Sources", "[config]") {
  FakeWorld world;
  world.files = {{"/etc/tend/tend.yaml", "daemon: {environment: dev}\n"}};
  const auto r = load_file("/etc/tend/tend.yaml", world.sources());
  REQUIRE(r.config);
  CHECK(r.config->daemon.environment == "dev");
  CHECK(only_error(load_file("/nope.yaml", world.sources())).to_string() == "/nope.yaml: cannot read the config file");
}

TEST_CASE("Sources::system reads files, globs and the environment", "[config][system]") {
  char dir_template[] = "/tmp/tend_config_test_XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::filesystem::path dir = dir_template;
  const auto write = [](const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  };
  write(dir / "tend.yaml", "include: [conf.d/*.yaml]\njobs:\n  main: {schedule: '@daily', shell: '${file:" +
                               (dir / "cmd").string() + "}'}\n");
  write(dir / "cmd", "  /usr/bin/true\n");
  write(dir / "conf.d/b.yaml", "jobs:\n  b: {schedule: '@daily', shell: '${cred:token}'}\n");
  write(dir / "conf.d/a.yaml", "jobs:\n  a: {schedule: '@daily', shell: 'true', timeout: 5}\n");
  write(dir / "conf.d/sub.yaml/x", "");  // a directory matching the glob is skipped
  write(dir / "conf.d/ignored.txt", "not: yaml: [");
  write(dir / "creds/token", "tok\n");

  Sources s = Sources::system();
  ::setenv("TEND_CONFIG_TEST_VAR", "value", 1);
  CHECK(s.getenv("TEND_CONFIG_TEST_VAR") == std::optional<std::string>("value"));
  ::unsetenv("TEND_CONFIG_TEST_VAR");
  CHECK_FALSE(s.getenv("TEND_CONFIG_TEST_VAR"));
  CHECK_FALSE(s.hostname.empty());
  CHECK_FALSE(s.read_file((dir / "missing").string()));
  CHECK_FALSE(s.read_file(dir.string()));  // a directory is not a file
  CHECK(s.glob((dir / "conf.d/*.yaml").string()) ==
        std::vector<std::string>{(dir / "conf.d/a.yaml").string(), (dir / "conf.d/b.yaml").string()});
  CHECK(s.glob((dir / "nothing/*.yaml").string()).empty());

  s.credentials_dir = (dir / "creds").string();
  const auto r = load_file((dir / "tend.yaml").string(), s);
  const ConfigError e = only_error(r);
  CHECK(e.pos.file == (dir / "conf.d/a.yaml").string());
  CHECK(e.pos.line == 2);
  CHECK(e.key_path == "jobs.a.timeout");

  write(dir / "conf.d/a.yaml", "jobs:\n  a: {schedule: '@daily', shell: 'true', timeout: 5s}\n");
  const Config c = loaded(load_file((dir / "tend.yaml").string(), s));
  REQUIRE(jobs(c).size() == 3);
  CHECK(jobs(c)[0].shell == "/usr/bin/true");
  CHECK(jobs(c)[1].name == "a");  // includes in sorted order
  CHECK(jobs(c)[2].shell == "tok");
  std::filesystem::remove_all(dir);
}

TEST_CASE("load_text survives garbled input", "[config][fuzz]") {
  const FakeWorld world = spec_world();
  const Sources sources = world.sources();
  std::vector<std::string> corpus = {
      yaml(kSpecExample),
      "a: &a [*a, *a]\nb: *a\n",
      "jobs: {x: {schedule: '@every 10s', command: [a, b], retries: {max: 3}}}\n",
      "? [complex, key]\n: value\n",
      "daemon: !!binary aGVsbG8=\n",
      "probes: {p: {url: 'http://x/', expect: {body_regex: '((((((a+)+)+)+)+)+'}}}\n",
      "jobs:\n  x: {schedule: '${env:X', shell: '${file:/etc/tend/discord.url}'}\n",
  };
  // Deep nesting, long lines and big numbers.
  corpus.push_back(std::string(5000, '[') + std::string(5000, ']'));
  corpus.push_back("jobs: " + std::string(3000, '{') + "a: 1" + std::string(3000, '}'));
  std::string deep_block;
  for (int i = 0; i < 600; ++i) {
    deep_block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  }
  corpus.push_back(deep_block);
  corpus.push_back("daemon: {history: {keep_runs: 9999999999999999999999999999999}}\n");

  const std::vector<std::string> tokens = {"jobs:",
                                           "probes:",
                                           "daemon:",
                                           "notifiers:",
                                           "alerts:",
                                           "routes:",
                                           "- ",
                                           "{",
                                           "}",
                                           "[",
                                           "]",
                                           ",",
                                           ": ",
                                           "\n",
                                           "\n  ",
                                           "\n    ",
                                           "&a ",
                                           "*a",
                                           "<<: ",
                                           "? ",
                                           "'",
                                           "\"",
                                           "${env:X}",
                                           "${",
                                           "!!str ",
                                           "|\n",
                                           ">-\n",
                                           "#",
                                           "---\n",
                                           "...\n",
                                           "%YAML 1.2\n",
                                           "5m",
                                           "300",
                                           "\t",
                                           "\\",
                                           "\xff\xfe",
                                           std::string(1, '\0'),
                                           "schedule: ",
                                           "command: ",
                                           "url: ",
                                           "http://",
                                           "restart: ",
                                           "pm2: ",
                                           "include: ",
                                           "~",
                                           "true",
                                           "1e999"};

  std::mt19937 rng(20240611);
  const auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  int documents = 0;
  for (const auto& doc : corpus) {
    const auto r = load_text(doc, "fuzz.yaml", sources);
    ++documents;
    CHECK((r.config.has_value() == r.errors.empty()));
  }
  for (int round = 0; round < 3000; ++round) {
    std::string doc = corpus[pick(corpus.size())];
    switch (round % 4) {
      case 0:  // byte flips
        for (int k = 0; k < 1 + static_cast<int>(pick(8)) && !doc.empty(); ++k) {
          doc[pick(doc.size())] = static_cast<char>(pick(256));
        }
        break;
      case 1:  // truncation
        doc.resize(doc.empty() ? 0 : pick(doc.size()));
        break;
      case 2:  // token soup
        doc.clear();
        for (int k = 0; k < 5 + static_cast<int>(pick(60)); ++k) {
          doc += tokens[pick(tokens.size())];
        }
        break;
      default:  // splice a random slice of one document into another
        if (!doc.empty()) {
          const std::string& other = corpus[pick(corpus.size())];
          const std::size_t from = pick(other.size());
          doc.insert(pick(doc.size()), other.substr(from, pick(200)));
        }
        break;
    }
    LoadResult r;
    CHECK_NOTHROW(r = load_text(doc, "fuzz.yaml", sources));
    ++documents;
    if (r.config.has_value() == r.errors.empty()) {
      continue;
    }
    FAIL("inconsistent result for document " << round);
  }
  CHECK(documents > 3000);
}

TEST_CASE("a merge-key bomb is refused quickly, not expanded", "[config][abuse]") {
  // Each level merges the previous one ten times: 10^9 keys at level eight from a 1 KB file, hours
  // of work if expanded. The budget stops it after 100,000 merged keys whatever the depth: well
  // under the bound below even under sanitizers on a loaded machine (a bound, not a benchmark).
  std::string text = "x0: &a0 {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1, k9: 1}\n";
  for (int level = 1; level <= 8; ++level) {
    text += "x" + std::to_string(level) + ": &a" + std::to_string(level) + " {<<: [";
    for (int i = 0; i < 10; ++i) {
      text += (i == 0 ? "" : ", ") + std::string("*a") + std::to_string(level - 1);
    }
    text += "]}\n";
  }
  text += "jobs:\n  j: {<<: *a8, schedule: \"@daily\", shell: \"true\"}\n";
  const auto start = std::chrono::steady_clock::now();
  const auto r = load(text);
  CHECK(std::chrono::steady_clock::now() - start < 60s);
  REQUIRE_FALSE(r.config);
  bool bomb = false;
  for (const auto& e : r.errors) {
    bomb = bomb || e.message.find("merge each other too many times") != std::string::npos;
  }
  CHECK(bomb);
}

// ---- the documentation and the reader agree (issue: "docs checked by tests") ----

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The ```yaml blocks of a Markdown file (tend configuration; other YAML is fenced "```yaml prometheus").
std::vector<std::string> yaml_blocks(const std::string& md) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = md.find("```yaml\n", at)) != std::string::npos) {
    at += 8;
    const auto end = md.find("```", at);
    if (end == std::string::npos) {
      break;
    }
    out.push_back(md.substr(at, end - at));
    at = end + 3;
  }
  return out;
}

const std::filesystem::path kSource = TEND_SOURCE_DIR;
// Where the keys are documented: the reference, and the pages it sends readers to.
const std::vector<std::string> kKeyDocs = {"configuration.md", "alerting.md", "probes.md", "metrics.md", "cluster.md"};

}  // namespace

TEST_CASE("every key of the documentation's YAML is one the reader knows", "[config][docs]") {
  for (const auto& doc : kKeyDocs) {
    const auto blocks = yaml_blocks(read_text(kSource / "docs" / doc));
    REQUIRE(!blocks.empty());
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      // Fragments: missing required keys and unset variables are expected; unknown keys are not.
      const auto r = load_text(blocks[i], doc + " block " + std::to_string(i + 1), FakeWorld{}.sources());
      for (const auto& e : r.errors) {
        INFO(e.to_string() << "\n--- block:\n" << blocks[i]);
        CHECK(e.message.find("unknown key") == std::string::npos);
      }
    }
  }
}

TEST_CASE("every key the reader knows is documented", "[config][docs]") {
  // Visit every section: the docs' own YAML and every example (each reader asks for all its keys,
  // present or not, so one visit of a section names them all).
  std::set<std::string> asked;
  FakeWorld world;
  auto sources = world.sources();
  sources.on_key = [&](const std::string& /*map_path*/, std::string_view key) { asked.emplace(key); };
  std::string docs;
  for (const auto& doc : kKeyDocs) {
    const std::string text = read_text(kSource / "docs" / doc);
    docs += text;
    for (const auto& block : yaml_blocks(text)) {
      (void)load_text(block, doc, sources);
    }
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator(kSource / "config")) {
    if (e.path().extension() == ".yaml") {
      (void)load_text(read_text(e.path()), e.path().string(), sources);
    }
  }
  REQUIRE(asked.size() > 100);
  for (const auto& key : asked) {
    INFO("key '" << key << "' is read by the config reader but appears in none of docs/"
                 << "{configuration,alerting,probes}.md as `" << key << "` or " << key << ":");
    const bool documented =
        docs.find("`" + key + "`") != std::string::npos || docs.find(" " + key + ":") != std::string::npos ||
        docs.find("{" + key + ":") != std::string::npos || docs.find("`" + key + ":") != std::string::npos ||
        docs.find("." + key + "`") != std::string::npos;
    CHECK(documented);
  }
}

TEST_CASE("cluster: is read with its defaults and run_on on jobs", "[config][cluster]") {
  const Config c = loaded(load(R"(
daemon: {host: web-1}
cluster:
  etcd: [http://10.0.0.1:2379, "https://etcd.example:2379"]
  prefix: /tend/prod/
  lease_ttl: 5s
  tls: {ca: /etc/tend/ca.pem, cert: /etc/tend/c.pem, key: /etc/tend/c.key}
jobs:
  a: {schedule: "* * * * * *", command: [/bin/true], run_on: any}
  b: {schedule: "0 3 * * *", command: [/bin/true], run_on: all}
  c: {schedule: "0 3 * * *", command: [/bin/true], run_on: host web-2}
  d: {schedule: "0 3 * * *", command: [/bin/true]}
)"));
  REQUIRE(c.cluster.has_value());
  CHECK(c.cluster->endpoints == std::vector<std::string>{"http://10.0.0.1:2379", "https://etcd.example:2379"});
  CHECK(c.cluster->prefix == "/tend/prod/");
  CHECK(c.cluster->node == "web-1");  // daemon.host
  CHECK(c.cluster->lease_ttl == 5s);
  CHECK(c.cluster->tls.key == "/etc/tend/c.key");
  const auto js = jobs(c);
  REQUIRE(js.size() == 4);
  CHECK(js[0].run_on.mode == tend::jobs::RunOn::Mode::any);
  CHECK(js[1].run_on.mode == tend::jobs::RunOn::Mode::all);
  CHECK(js[2].run_on.mode == tend::jobs::RunOn::Mode::host);
  CHECK(js[2].run_on.host == "web-2");
  CHECK(js[3].run_on.mode == tend::jobs::RunOn::Mode::all);  // the default: as without a cluster
  CHECK(tend::jobs::to_string(js[2].run_on) == "host web-2");

  // Without cluster: nothing of it.
  CHECK_FALSE(loaded(load("jobs: {d: {schedule: \"@daily\", command: [/bin/true]}}\n")).cluster.has_value());
}

TEST_CASE("cluster: errors at their keys, through the cluster module's own checks", "[config][cluster]") {
  const auto r = load(R"(
cluster:
  etcd: [ftp://10.0.0.1:2379]
  prefix: tend
  node: "web 1"
  lease_ttl: 1500ms
  tls: {key: /k.pem}
  leese_ttl: 3s
)");
  INFO(dump(r));
  CHECK(error_at(r, "cluster.etcd[0]").message.find("is not an etcd client URL") != std::string::npos);
  CHECK(error_at(r, "cluster.etcd[0]").pos.line == 2);
  check_at(error_at(r, "cluster.prefix"), 3, 11, "cluster.prefix", "must start with / (e.g. /tend/prod/)");
  CHECK(error_at(r, "cluster.node").pos.line == 4);
  check_at(error_at(r, "cluster.lease_ttl"), 5, 14, "cluster.lease_ttl",
           "must be whole seconds, at least 2s (etcd's minimum lease)");
  CHECK(error_at(r, "cluster.tls").message == "key: key without cert");
  CHECK(error_at(r, "cluster.leese_ttl").message.find("did you mean 'lease_ttl'") != std::string::npos);

  check_at(only_error(load("cluster: {}\n")), 1, 1, "cluster", "missing required key 'etcd'");
}

TEST_CASE("run_on: values, and any/host only in cluster mode", "[config][cluster]") {
  auto r = load(R"(
jobs:
  a: {schedule: "@daily", command: [/bin/true], run_on: any}
)");
  CHECK(only_error(r).message.find("needs a cluster: section") != std::string::npos);
  CHECK(only_error(r).key_path == "jobs.a.run_on");

  r = load(R"(
cluster: {etcd: http://127.0.0.1:2379}
jobs:
  a: {schedule: "@every 1m", command: [/bin/true], run_on: any}
  b: {schedule: "@daily", command: [/bin/true], run_on: somewhere}
  c: {schedule: "@daily", command: [/bin/true], run_on: "host bad name"}
)");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 3);
  CHECK(error_at(r, "jobs.a.run_on").message.find("needs a cron schedule") != std::string::npos);
  CHECK(error_at(r, "jobs.b.run_on").message.find("expected any, all or host NAME") != std::string::npos);
  CHECK(error_at(r, "jobs.c.run_on").pos.line == 5);

  // cluster: belongs to the main file.
  FakeWorld world;
  world.files["/etc/tend/conf.d/x.yaml"] = "cluster: {etcd: http://127.0.0.1:2379}\n";
  r = load("include: [conf.d/x.yaml]\n", world);
  CHECK(only_error(r).message.find("only allowed in the main config file") != std::string::npos);
}
