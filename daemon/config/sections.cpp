#include "config/sections.hpp"

#include <date/tz.h>

#include <algorithm>
#include <functional>
#include <sstream>

#include "config/fields.hpp"
#include "config/values.hpp"
#include "events/catalogue.hpp"
#include "util/names.hpp"

namespace tend::config::detail {
namespace {

void read_notifier(MapReader& m, NotifierConfig& n, const Plugins& plugins) {
  std::vector<std::string_view> types;
  for (const auto& t : plugins.notifiers) {
    types.push_back(t.type);
  }
  m.require("type");
  if (!m.read("type", n.type, Value::one_of("notifier type", types))) {
    // Without a known type, its own keys cannot be judged; the common ones still are.
    read_http_notifier(m, n);
    return;
  }
  for (const auto& t : plugins.notifiers) {
    if (t.type == n.type) {
      t.read(m, n);
    }
  }
}

// A `name -> settings` section: names are checked, recorded for the uniqueness checks, and each
// entry is read by `read_one`.
// Calls read_one(m, name) for each valid entry.
void read_named(MapReader& root, std::string_view section, std::vector<NameDef>& names,
                const std::function<void(MapReader&, const std::string&)>& read_one) {
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
      read_one(m, e.key);
      m.finish();
    }
  });
}

}  // namespace

void read_daemon(MapReader& m, DaemonConfig& d) {
  m.read("environment", d.environment);
  m.read("host", d.host);
  if (auto zone = read_timezone(m)) {
    d.timezone = *zone;
    d.timezone_name = schedule::zone_name(*zone);
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
  m.read("env", d.env, check_env_name);
}

void read_cluster(MapReader& m, const DaemonConfig& daemon, std::optional<cluster::Settings>& out) {
  cluster::Settings s;
  s.node = daemon.host;
  bool etcd_reported = !m.require("etcd");
  if (auto v = m.get("etcd")) {
    const StringCheck check_endpoint = [&etcd_reported](const std::string& url,
                                                        const std::string& shown) -> std::optional<std::string> {
      if (cluster::endpoint_problem(url)) {
        etcd_reported = true;
        return shown + " is not an etcd client URL (http://HOST:2379 or https://HOST:2379, no path)";
      }
      return std::nullopt;
    };
    // One endpoint is as clear as a list of one.
    if (v->node().IsScalar()) {
      if (auto url = v->string(check_endpoint)) {
        s.endpoints.push_back(std::move(*url));
      }
    } else if (auto urls = v->string_list(/*non_empty=*/true, check_endpoint)) {
      s.endpoints = std::move(*urls);
    } else {
      etcd_reported = true;
    }
  }
  m.read("prefix", s.prefix, check_not_empty);
  m.read("node", s.node, check_not_empty);
  m.read("lease_ttl", s.lease_ttl);
  m.section("tls", [&](MapReader& t) {
    t.read("ca", s.tls.ca, check_absolute_path);
    t.read("cert", s.tls.cert, check_absolute_path);
    t.read("key", s.tls.key, check_absolute_path);
  });
  // The cluster module's own checks, each at its key (or at the section when the key is absent:
  // a default such as the node name from daemon.host).
  for (const auto& p : cluster::problems(s)) {
    if (p.key == "etcd" && etcd_reported) {
      continue;
    }
    const std::string top = p.key.substr(0, p.key.find('.'));
    std::optional<Value> at = top.empty() ? std::nullopt : m.get(top);
    const std::string nested = p.key.find('.') != std::string::npos ? p.key.substr(p.key.find('.') + 1) + ": " : "";
    if (at) {
      at->error(nested + p.message);
    } else {
      m.self().error((p.key.empty() ? "" : p.key + ": ") + p.message +
                     (p.key == "node" ? " (the default is daemon.host; set cluster.node)" : ""));
    }
  }
  out = std::move(s);
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

// A label name: one of alert_label_names(), or labels.NAME.
std::optional<std::string> check_label_name(const std::string& name, const std::string& shown) {
  const auto& known = alert_label_names();
  if (std::find(known.begin(), known.end(), name) != known.end()) {
    return std::nullopt;
  }
  if (name.starts_with("labels.") && name.size() > 7 && valid_name(name.substr(7))) {
    return std::nullopt;
  }
  std::string list;
  for (auto n : known) {
    list += std::string(n) + ", ";
  }
  return "unknown label " + shown + " (known: " + list + "labels.NAME)";
}

// `{kind: probe, event: down, labels.db: main}`: each key a label, each value what it must be.
void read_matcher(MapReader& m, Matcher& out) {
  for (const auto& e : m.entries()) {
    if (auto why = check_label_name(e.key, "'" + e.key + "'")) {
      e.value.error(*why);
      continue;
    }
    StringCheck check;
    if (e.key == "severity") {
      std::vector<std::string_view> words;
      for (const auto& [name, sev] : events::kSeverities) {
        words.push_back(name);
      }
      check = Value::one_of("severity", words);
    } else if (e.key == "kind") {
      check = Value::one_of("kind", events::kinds());
    }
    if (auto value = e.value.string(check)) {
      out.labels[e.key] = std::move(*value);
    }
  }
}

void read_route(MapReader& r, Route& route, Collected& c) {
  r.section("match", [&](MapReader& m) {
    m.read("severity", route.match.severity, events::kSeverities);
    m.read("kind", route.match.kind, Value::one_of("kind", events::kinds()));
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
  if (auto v = a.get("group_by")) {
    if (auto names = v->string_list(false, check_label_name)) {
      alerts.group_by = std::move(*names);
    }
  }
  a.read("group_wait", alerts.group_wait, kAnyDuration);
  a.read("group_interval", alerts.group_interval);
  a.section("flapping", [&](MapReader& f) {
    FlappingConfig flapping;
    f.read("changes", flapping.changes, 2, 1000);
    f.read("window", flapping.window);
    alerts.flapping = flapping;
  });
  if (auto v = a.get("inhibit")) {
    if (auto items = v->items()) {
      for (const auto& item : *items) {
        MapReader r(item);
        if (!r.valid()) {
          continue;
        }
        InhibitRule rule;
        r.require("source");
        r.require("target");
        r.section("source", [&](MapReader& m) { read_matcher(m, rule.source); });
        r.section("target", [&](MapReader& m) { read_matcher(m, rule.target); });
        if (auto eq = r.get("equal")) {
          if (auto names = eq->string_list(false, check_label_name)) {
            rule.equal = std::move(*names);
          }
        }
        r.finish();
        alerts.inhibit.push_back(std::move(rule));
      }
    }
  }
}

void read_entry_sections(MapReader& root, Collected& c, const Plugins& plugins) {
  Config& config = c.config;
  if (!c.notifiers_at) {
    if (auto v = root.get("notifiers"); v && v->node().IsMap() && v->node().size() > 0) {
      Context& ctx = v->context();
      c.notifiers_at = Where{ctx.position(v->key_mark()), ctx.file_index()};
    }
  }
  read_named(root, "notifiers", c.notifier_names, [&](MapReader& m, const std::string& name) {
    NotifierConfig n;
    n.name = name;
    read_notifier(m, n, plugins);
    config.notifiers.push_back(std::move(n));
  });
  const ReadContext ctx{config.daemon, plugins, config.cluster.has_value()};
  for (const auto& spec : plugins.sections) {
    read_named(root, spec.section, c.entry_names, [&](MapReader& m, const std::string& name) {
      if (auto settings = spec.read(m, name, ctx)) {
        config.entries.push_back(EntryConfig{spec.kind, name, std::move(settings)});
      }
    });
  }
}

}  // namespace tend::config::detail
