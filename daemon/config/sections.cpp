#include "config/sections.hpp"

#include <date/tz.h>

#include <algorithm>
#include <functional>
#include <sstream>

#include "config/values.hpp"
#include "util/names.hpp"

namespace tend::config::detail {
namespace {

const Choices<Severity> kSeverities = {
    {"info", Severity::info}, {"warning", Severity::warning}, {"critical", Severity::critical}};

std::string percent_text(double v) {
  std::ostringstream out;
  out << v << '%';
  return out.str();
}

// A zone name from `timezone:`; nullopt (error recorded) when unknown.
std::optional<const date::time_zone*> read_zone(MapReader& m) {
  auto v = m.get("timezone");
  auto name = v ? v->string() : std::nullopt;
  if (!name) {
    return std::nullopt;
  }
  auto zone = schedule::find_zone(*name);
  if (!zone) {
    v->error(zone.error());
    return std::nullopt;
  }
  return *zone;
}

// `schedule:` parsed in `zone`; the schedule module's message says what is wrong (bad field,
// never fires).
std::optional<schedule::Schedule> read_schedule(MapReader& m, const date::time_zone* zone) {
  auto v = m.get("schedule");
  auto text = v ? v->string() : std::nullopt;
  if (!text) {
    return std::nullopt;
  }
  auto parsed = schedule::parse_schedule(*text, zone);
  if (!parsed) {
    v->error(parsed.error());
    return std::nullopt;
  }
  return std::move(*parsed);
}

// Of `keys`, exactly one must be present: returns it (or nullopt, with the error recorded at the
// second one in document order).
std::optional<std::string_view> exactly_one(MapReader& m, std::vector<std::string_view> keys) {
  std::string listed;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    listed += (i == 0 ? "" : i + 1 == keys.size() ? " or " : ", ") + std::string(keys[i]);
  }
  std::vector<std::pair<std::string_view, Value>> present;
  for (auto key : keys) {
    if (auto v = m.get(key)) {
      present.emplace_back(key, *v);
    }
  }
  std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second.key_mark().line, a.second.key_mark().column) <
           std::pair(b.second.key_mark().line, b.second.key_mark().column);
  });
  if (present.size() > 1) {
    const Value& second = present[1].second;
    m.self().context().error(
        second.key_mark(), second.path(),
        "exactly one of " + listed + " is allowed ('" + std::string(present[0].first) + "' is also set)");
    return std::nullopt;
  }
  if (present.empty()) {
    if (m.valid()) {
      m.self().context().error(m.self().key_mark(), m.self().path(), "exactly one of " + listed + " is required");
    }
    return std::nullopt;
  }
  return present[0].first;
}

void read_notifier(MapReader& m, NotifierConfig& n) {
  std::vector<std::string_view> types(notifier_types().begin(), notifier_types().end());
  m.require("type");
  m.read("type", n.type, Value::one_of("notifier type", types));
  m.require("url");
  m.read("url", n.url, check_http_url);
  m.read("headers", n.headers, check_header_name, check_header_value);
  m.read("timeout", n.timeout);
}

void read_job(MapReader& m, JobConfig& j, const date::time_zone* default_zone) {
  const date::time_zone* zone = read_zone(m).value_or(default_zone);
  m.require("schedule");
  if (auto s = read_schedule(m, zone)) {
    j.schedule = std::move(*s);
  }
  if (auto action = exactly_one(m, {"command", "shell", "builtin"})) {
    if (*action == "command") {
      m.read("command", j.command, /*non_empty=*/true);
    } else if (*action == "shell") {
      m.read("shell", j.shell, check_not_empty);
    } else {
      m.read("builtin", j.builtin, Value::one_of("builtin", {"digest"}));
    }
  }
  m.read("workdir", j.workdir, check_absolute_path);
  m.read("user", j.user, check_user_name);
  m.read("env", j.env, check_env_name);
  m.read("timeout", j.timeout);
  m.read("kill_grace", j.kill_grace, kAnyDuration);
  m.read("warn_after", j.warn_after);
  m.section("retries", [&](MapReader& r) {
    r.read("max", j.retries.max, 0, 100);
    r.read("delay", j.retries.delay, kAnyDuration);
    r.read("backoff", j.retries.backoff, {{"fixed", Backoff::fixed}, {"exponential", Backoff::exponential}});
  });
  m.read("concurrency", j.concurrency,
         {{"forbid", Concurrency::forbid}, {"allow", Concurrency::allow}, {"replace", Concurrency::replace}});
  m.read("catch_up", j.catch_up);
  m.read("jitter", j.jitter, kAnyDuration);
  m.read("alert_on", j.alert_on, false, Value::one_of("alert_on event", {"failure", "timeout", "slow", "missed"}));
  m.read("severity", j.severity, kSeverities);
}

void read_statuses(const Value& v, std::vector<StatusRange>& out) {
  // `status: 200` is as clear as `status: [200]`.
  std::vector<Value> items;
  if (v.node().IsScalar()) {
    items.push_back(v);
  } else if (auto list = v.items()) {
    items = std::move(*list);
  } else {
    return;
  }
  std::vector<StatusRange> statuses;
  for (const auto& item : items) {
    auto text = item.scalar("a status code or class (200, \"2xx\")");
    if (!text) {
      return;
    }
    auto range = parse_status(text->value);
    if (!range) {
      item.error(text->expanded ? text->shown() + " is not a status code or class" : range.error());
      return;
    }
    statuses.push_back(*range);
  }
  if (statuses.empty()) {
    v.error("must not be empty");
    return;
  }
  out = std::move(statuses);
}

void read_expect(MapReader& e, ProbeExpect& x) {
  if (auto v = e.get("status")) {
    read_statuses(*v, x.status);
  }
  e.read("body_contains", x.body_contains);
  e.read("body_regex", x.body_regex, check_regex);
  e.section("json", [&](MapReader& j) {
    JsonExpect json;
    j.require("path");
    j.require("equals");
    j.read("path", json.path, check_json_pointer);
    j.read("equals", json.equals);
    x.json = json;
  });
  e.read("max_latency", x.max_latency);
}

// One reader per remedy type, keyed by the names in remedy_types(): adding a remedy is one line here.
using RestartReader = std::function<void(MapReader&, const Value&, RemedyConfig&)>;
const std::vector<std::pair<std::string_view, RestartReader>>& restart_readers() {
  static const std::vector<std::pair<std::string_view, RestartReader>> readers = {
      {"pm2",
       [](MapReader& s, const Value& v, RemedyConfig& r) {
         if (auto name = v.string(check_pm2_name)) {
           r.target = std::move(*name);
         }
         s.read("user", r.user, check_user_name);
       }},
      {"systemd",
       [](MapReader&, const Value& v, RemedyConfig& r) {
         if (auto unit = v.string(check_systemd_unit)) {
           r.target = std::move(*unit);
         }
       }},
      {"exec",
       [](MapReader&, const Value& v, RemedyConfig& r) {
         if (auto argv = v.string_list(/*non_empty=*/true)) {
           r.argv = std::move(*argv);
         }
       }},
  };
  return readers;
}

void read_restart(MapReader& s, RemedyConfig& r) {
  std::vector<std::string_view> types(remedy_types().begin(), remedy_types().end());
  s.known({"user"});
  auto type = exactly_one(s, types);
  if (!type) {
    return;
  }
  r.type = std::string(*type);
  const auto& readers = restart_readers();
  const auto reader = std::find_if(readers.begin(), readers.end(), [&](const auto& e) { return e.first == *type; });
  auto v = s.get(*type);
  if (reader == readers.end()) {
    v->error("remedy type '" + r.type + "' is not supported by this build");
    return;
  }
  reader->second(s, *v, r);
  if (r.type != "pm2") {
    if (auto user = s.get("user")) {
      s.self().context().error(user->key_mark(), user->path(), "'user' applies only to pm2 restarts");
    }
  }
}

void read_remedy(MapReader& m, RemedyConfig& r) {
  m.require("restart");
  m.section("restart", [&](MapReader& s) { read_restart(s, r); });
  m.read("settle", r.settle);
  m.read("max_restarts", r.max_restarts, 1, 1000);
  m.read("window", r.window);
  m.read("cooldown", r.cooldown, kAnyDuration);
  m.read("notify", r.notify, {{"all", RemedyNotify::all}, {"failures", RemedyNotify::failures}});
}

void read_probe(MapReader& m, ProbeConfig& p) {
  // The url gives scheme, host and path even when the request goes over unix_socket.
  m.require("url");
  m.read("url", p.url, check_http_url);
  m.read("unix_socket", p.unix_socket, check_absolute_path);
  m.read("method", p.method, Value::one_of("method", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}));
  m.read("headers", p.headers, check_header_name, check_header_value);
  m.read("body", p.body);
  m.read("follow_redirects", p.follow_redirects);
  m.read("reuse_connection", p.reuse_connection);
  m.read("interval", p.interval);
  m.read("timeout", p.timeout);
  m.section("expect", [&](MapReader& e) { read_expect(e, p.expect); });
  m.section("tls", [&](MapReader& t) {
    t.read("verify", p.tls.verify);
    t.read("expiry_warning", p.tls.expiry_warning, kAnyDuration);
  });
  m.read("failure_threshold", p.failure_threshold, 1, 1000);
  m.read("success_threshold", p.success_threshold, 1, 1000);
  m.section("remedy", [&](MapReader& r) {
    RemedyConfig remedy;
    read_remedy(r, remedy);
    p.remedy = std::move(remedy);
  });
  m.read("severity", p.severity, kSeverities);
}

void read_watch(MapReader& m, WatchConfig& w) {
  m.require("file");
  m.read("file", w.file, check_absolute_path);
  m.read("format", w.format, {{"json", LogFormat::json}, {"combined", LogFormat::combined}});
  m.read("status_field", w.status_field);
  m.read("window", w.window);
  m.read("min_requests", w.min_requests, 1, 1'000'000'000);
  const bool warning_ok = m.read("warning", w.warning);
  const bool critical_ok = m.read("critical", w.critical);
  const auto warning = m.get("warning");
  const auto critical = m.get("critical");
  if ((warning || critical) && (warning_ok || !warning) && (critical_ok || !critical) && w.warning >= w.critical) {
    (critical ? *critical : *warning)
        .error("warning (" + percent_text(w.warning) + ") must be below critical (" + percent_text(w.critical) + ")");
  }
}

void read_check(MapReader& m, CheckConfig& c, const date::time_zone* default_zone) {
  const date::time_zone* zone = read_zone(m).value_or(default_zone);
  if (auto which = exactly_one(m, {"schedule", "every"})) {
    if (*which == "schedule") {
      c.schedule = read_schedule(m, zone);
    } else {
      m.read("every", c.every);
    }
  }
  m.read("grace", c.grace, kAnyDuration);
  m.read("severity", c.severity, kSeverities);
}

// A `name -> settings` section: names are checked, recorded for the uniqueness checks, and each
// entry is read by `read_one`.
template <class T>
void read_named(MapReader& root, std::string_view section, std::vector<T>& out, std::vector<NameDef>& names,
                const std::function<void(MapReader&, T&)>& read_one) {
  root.section(section, [&](MapReader& s) {
    for (const auto& e : s.entries()) {
      Context& ctx = e.value.context();
      if (!valid_name(e.key)) {
        ctx.error(e.key_mark, e.value.path(),
                  "invalid name '" + e.key + "' (letters, digits, '_', '.' and '-' only, at most 128)");
        continue;
      }
      names.push_back(NameDef{e.value.path(), e.key, ctx.position(e.key_mark), ctx.file_index()});
      MapReader m(e.value);
      if (!m.valid()) {
        continue;
      }
      T item;
      item.name = e.key;
      read_one(m, item);
      m.finish();
      out.push_back(std::move(item));
    }
  });
}

}  // namespace

void read_daemon(MapReader& m, DaemonConfig& d) {
  m.read("environment", d.environment);
  m.read("host", d.host);
  if (auto zone = read_zone(m)) {
    d.timezone = *zone;
    d.timezone_name = (*zone)->name();
  }
  m.read("socket", d.socket, check_not_empty);  // relative: to the main file's folder (loader)
  m.read("socket_group", d.socket_group, check_group_name);
  m.read("admin_group", d.admin_group, check_group_name);
  m.read("state_dir", d.state_dir, check_not_empty);
  m.section("log", [&](MapReader& l) {
    l.read("level", d.log.level,
           Value::one_of("log level", {"trace", "debug", "info", "warning", "error", "critical", "off"}));
    l.read("format", d.log.format, Value::one_of("log format", {"text", "json"}));
  });
  m.section("history", [&](MapReader& h) {
    h.read("keep_runs", d.history.keep_runs, 1, 1'000'000);
    h.read("keep_days", d.history.keep_days, 1, 36'500);
  });
  m.section("heartbeat", [&](MapReader& h) {
    HeartbeatConfig heartbeat;
    h.require("url");
    h.read("url", heartbeat.url, check_http_url);
    h.read("interval", heartbeat.interval);
    d.heartbeat = std::move(heartbeat);
  });
  m.section("metrics", [&](MapReader& x) {
    MetricsConfig metrics;
    x.require("listen");
    x.read("listen", metrics.listen, check_listen);
    d.metrics = std::move(metrics);
  });
}

namespace {

void read_notifier_list(const Value& v, std::vector<std::string>& out, Collected& c, bool non_empty) {
  auto items = v.items();
  if (!items) {
    return;
  }
  if (non_empty && items->empty()) {
    v.error("must not be empty");
  }
  for (const auto& item : *items) {
    if (auto name = item.string()) {
      Context& ctx = item.context();
      c.notifier_refs.push_back(NotifierRef{*name, item.path(), ctx.position(item.mark()), ctx.file_index()});
      out.push_back(std::move(*name));
    }
  }
}

void read_route(MapReader& r, Route& route, Collected& c) {
  r.section("match", [&](MapReader& m) {
    m.read("severity", route.match.severity, kSeverities);
    m.read("kind", route.match.kind, Value::one_of("kind", {"job", "probe", "watch", "check", "daemon"}));
    m.read("name", route.match.name);
    m.read("environment", route.match.environment);
  });
  r.require("notify");
  if (auto v = r.get("notify")) {
    read_notifier_list(*v, route.notify, c, /*non_empty=*/false);
  }
  r.read("continue", route.continue_matching);
}

}  // namespace

void read_alerts(MapReader& a, Collected& c) {
  AlertsConfig& alerts = c.config.alerts;
  Context& ctx = a.self().context();
  c.alerts_at = Where{ctx.position(a.self().key_mark()), ctx.file_index()};
  if (auto routes = a.get("routes")) {
    c.alerts_at = Where{ctx.position(routes->key_mark()), ctx.file_index()};
    auto items = routes->items();
    const std::size_t count = items ? items->size() : 0;
    for (std::size_t i = 0; i < count; ++i) {
      const Value& item = (*items)[i];
      MapReader r(item);
      if (!r.valid()) {
        continue;
      }
      // A default route is one without a match, or with an empty one; judged on the YAML so a
      // match whose values are invalid still counts as a match.
      auto match = r.get("match");
      const bool is_default = !match || match->node().size() == 0;
      Route route;
      read_route(r, route, c);
      r.finish();
      // A catch-all in the middle is fine when it lets matching continue (e.g. an archive webhook).
      if (is_default && i + 1 < count && !route.continue_matching) {
        item.error("the default route (no match) must be the last route: the routes after it are never reached");
      }
      if (!is_default && i + 1 == count) {
        item.error("the last route must be the default route (no match)");
      }
      alerts.routes.push_back(std::move(route));
    }
  }
  a.read("repeat_interval", alerts.repeat_interval);
  a.read("send_resolved", alerts.send_resolved);
  a.section("escalate", [&](MapReader& e) {
    EscalateConfig escalate;
    e.read("after", escalate.after);
    e.require("notify");
    if (auto v = e.get("notify")) {
      read_notifier_list(*v, escalate.notify, c, /*non_empty=*/true);
    }
    alerts.escalate = std::move(escalate);
  });
  a.section("delivery", [&](MapReader& d) { d.read("max_age", alerts.delivery_max_age); });
}

void read_entry_sections(MapReader& root, Collected& c) {
  Config& config = c.config;
  const date::time_zone* zone = config.daemon.timezone;
  if (!c.notifiers_at) {
    if (auto v = root.get("notifiers"); v && v->node().IsMap() && v->node().size() > 0) {
      Context& ctx = v->context();
      c.notifiers_at = Where{ctx.position(v->key_mark()), ctx.file_index()};
    }
  }
  read_named<NotifierConfig>(root, "notifiers", config.notifiers, c.notifier_names, read_notifier);
  read_named<JobConfig>(root, "jobs", config.jobs, c.entry_names,
                        [&](MapReader& m, JobConfig& j) { read_job(m, j, zone); });
  read_named<ProbeConfig>(root, "probes", config.probes, c.entry_names, read_probe);
  read_named<WatchConfig>(root, "watches", config.watches, c.entry_names, read_watch);
  read_named<CheckConfig>(root, "checks", config.checks, c.entry_names,
                          [&](MapReader& m, CheckConfig& k) { read_check(m, k, zone); });
}

}  // namespace tend::config::detail
