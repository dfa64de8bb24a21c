#pragma once
// The validated configuration: plain values, no YAML. The daemon, notifier and alert sections are
// read here; each entry kind (jobs, probes, watches, checks) reads its own section with its own
// reader (config::Plugins) into its own settings type, held here behind EntrySettings. Equality
// ignores source positions so a reload can tell which entries changed.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/settings.hpp"
#include "events/severity.hpp"
#include "schedule/schedule.hpp"
#include "util/duration.hpp"

namespace tend::config {

using namespace std::chrono_literals;
using events::Severity;

/// Where a value came from: 1-based line and column.
struct Position {
  std::string file;
  int line = 0;
  int column = 0;
};

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
  std::map<std::string, std::string> env;  // added to every child's environment
  bool operator==(const DaemonConfig&) const = default;
};

/// What a variant's or an entry kind's reader produces: settings of its own type, compared on
/// reload through same_as (derive from Settings<T>, which implements it with T's ==).
class EntrySettings {
 public:
  EntrySettings() = default;
  EntrySettings(const EntrySettings&) = default;
  EntrySettings& operator=(const EntrySettings&) = default;
  virtual ~EntrySettings() = default;
  /// Same type and equal values.
  [[nodiscard]] virtual bool same_as(const EntrySettings& other) const = 0;
};

template <class T>
class Settings : public EntrySettings {
 public:
  [[nodiscard]] bool same_as(const EntrySettings& other) const override {
    const auto* o = dynamic_cast<const T*>(&other);
    return o != nullptr && *o == static_cast<const T&>(*this);
  }
  bool operator==(const Settings& /*other*/) const { return true; }
};

/// Two optional settings are equal when both are absent or both are the same.
bool same_settings(const std::shared_ptr<const EntrySettings>& a, const std::shared_ptr<const EntrySettings>& b);

struct NotifierConfig {
  std::string name;
  std::string type;                            // one of the registered notifier types
  std::string url;                             // secret
  std::map<std::string, std::string> headers;  // values secret
  Duration timeout = 10s;
  std::shared_ptr<const EntrySettings> options;  // the type's own keys (e.g. a routing key), if any
  bool operator==(const NotifierConfig& o) const {
    return name == o.name && type == o.type && url == o.url && headers == o.headers && timeout == o.timeout &&
           same_settings(options, o.options);
  }
};

struct RouteMatch {
  std::optional<Severity> severity;
  std::optional<std::string> kind;  // a kind of the event catalogue
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

/// Labels an alert is matched and grouped by: kind, event, severity, environment, host, name
/// (a glob in matchers), and labels.NAME for the labels its entry gave it.
struct Matcher {
  std::map<std::string, std::string> labels;  // label -> required value (name: a glob)
  bool operator==(const Matcher&) const = default;
};

/// While an alert matching `source` fires, alerts matching `target` (with the same values of
/// every label in `equal`) are recorded, not sent.
struct InhibitRule {
  Matcher source;
  Matcher target;
  std::vector<std::string> equal;
  bool operator==(const InhibitRule&) const = default;
};

/// More state changes than `changes` within `window`: one "flapping" notification, then quiet
/// until stable for a window.
struct FlappingConfig {
  int changes = 6;
  Duration window = 10min;
  bool operator==(const FlappingConfig&) const = default;
};

struct AlertsConfig {
  std::vector<Route> routes;  // validated: last one has an empty match (default route)
  Duration repeat_interval = 4h;
  bool send_resolved = true;
  std::optional<EscalateConfig> escalate;
  Duration delivery_max_age = 24h;
  std::vector<std::string> group_by;  // empty: nothing is grouped
  Duration group_wait = 30s;
  Duration group_interval = 5min;
  std::optional<FlappingConfig> flapping;
  std::vector<InhibitRule> inhibit;
  bool operator==(const AlertsConfig&) const = default;
};

/// The label names group_by, inhibit and matchers know (besides labels.NAME).
const std::vector<std::string_view>& alert_label_names();

/// One entry of any kind: its kind (from the kind's registration), its name and its settings.
struct EntryConfig {
  std::string_view kind;  // "job", "probe", ...: static storage (the kind's registration)
  std::string name;
  std::shared_ptr<const EntrySettings> settings;

  /// The settings as the kind's own type (the kind's code only: it knows what it registered).
  template <class T>
  [[nodiscard]] const T& as() const {
    return static_cast<const T&>(*settings);
  }
  /// The same, sharing ownership: an entry keeps its settings without a copy of its own.
  template <class T>
  [[nodiscard]] std::shared_ptr<const T> shared() const {
    return std::static_pointer_cast<const T>(settings);
  }
  bool operator==(const EntryConfig& o) const {
    return kind == o.kind && name == o.name && same_settings(settings, o.settings);
  }
};

struct Config {
  std::string path;  // the main file
  DaemonConfig daemon;
  std::vector<std::string> include;  // patterns as written
  std::vector<NotifierConfig> notifiers;
  AlertsConfig alerts;
  /// `cluster:` (SPEC "Cluster mode"), validated by cluster::problems(); absent: a single host.
  std::optional<cluster::Settings> cluster;
  /// Every entry, by kind in registration order, then in file order.
  std::vector<EntryConfig> entries;
  /// Source position of each entry and key ("jobs.backup" -> file:line:col), for the load's own
  /// errors and for tools; the daemon drops them once loaded.
  std::map<std::string, Position> origins;

  /// The settings of every entry of kind T (T::kKind), in order.
  template <class T>
  [[nodiscard]] std::vector<const T*> all() const {
    std::vector<const T*> out;
    for (const auto& e : entries) {
      if (e.kind == T::kKind) {
        out.push_back(&e.as<T>());
      }
    }
    return out;
  }
  /// How many entries of `kind` there are.
  [[nodiscard]] std::size_t count(std::string_view kind) const;
};

}  // namespace tend::config
