#include "alerts/manager.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "util/log.hpp"

namespace tend::alerts {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("alerts"); }

config::Severity severity_of(std::string_view s) {
  if (s == "info") {
    return config::Severity::info;
  }
  if (s == "warning") {
    return config::Severity::warning;
  }
  return config::Severity::critical;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

std::vector<std::string> merged(std::vector<std::string> a, const std::vector<std::string>& b) {
  for (const auto& x : b) {
    if (std::find(a.begin(), a.end(), x) == a.end()) {
      a.push_back(x);
    }
  }
  return a;
}

std::string str(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

bool is_instant(const std::string& event) {
  static const std::set<std::string> kInstant = {"missed", "restarted", "restart_failed", "unclean_start",
                                                 "delivery_failed"};
  return kInstant.count(event) > 0;
}

struct Manager::Alert {
  std::string key;
  std::string kind;
  std::string name;
  std::string event;
  config::Severity severity = config::Severity::critical;
  std::string summary;
  std::string detail;
  std::map<std::string, std::string> labels;
  WallTime started_at{};
  int occurrences = 1;
  int notified_occurrences = 0;        // occurrences at the last notification
  std::vector<std::string> notifiers;  // where its notifications went (resolves follow them)
  bool instant = false;
  bool suppressed = false;  // a notification was withheld by a silence
  bool escalated = false;
  bool held = false;  // `hold` label: recorded, never notified (a remedy with notify: failures)
  std::optional<WallTime> last_notified;
  std::optional<WallTime> last_logged;  // the alert log's last line about it (not persisted)
  std::unique_ptr<TimerHandle> repeat_timer;
  std::unique_ptr<TimerHandle> escalate_timer;

  [[nodiscard]] json::object to_json() const {
    json::object labels_json;
    for (const auto& [k, v] : labels) {
      labels_json[k] = v;
    }
    json::array to;
    for (const auto& n : notifiers) {
      to.emplace_back(n);
    }
    return {{"kind", kind},
            {"name", name},
            {"event", event},
            {"severity", config::to_string(severity)},
            {"summary", summary},
            {"detail", detail},
            {"labels", std::move(labels_json)},
            {"started_at", format_iso8601(started_at)},
            {"occurrences", occurrences},
            {"notified_occurrences", notified_occurrences},
            {"notifiers", std::move(to)},
            {"instant", instant},
            {"suppressed", suppressed},
            {"escalated", escalated},
            {"held", held},
            {"last_notified", last_notified ? json::value(format_iso8601(*last_notified)) : json::value(nullptr)}};
  }

  static std::unique_ptr<Alert> from_json(const std::string& key, const std::string& text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) {
      return nullptr;
    }
    const auto& o = v.as_object();
    auto a = std::make_unique<Alert>();
    a->key = key;
    a->kind = str(o, "kind");
    a->name = str(o, "name");
    a->event = str(o, "event");
    a->severity = severity_of(str(o, "severity"));
    a->summary = str(o, "summary");
    a->detail = str(o, "detail");
    auto started = parse_iso8601(str(o, "started_at"));
    if (a->kind.empty() || a->name.empty() || a->event.empty() || !started) {
      return nullptr;
    }
    a->started_at = *started;
    if (const auto* l = o.if_contains("labels"); l != nullptr && l->is_object()) {
      for (const auto& [k, val] : l->as_object()) {
        if (val.is_string()) {
          a->labels[std::string(k)] = std::string(val.as_string());
        }
      }
    }
    if (const auto* n = o.if_contains("notifiers"); n != nullptr && n->is_array()) {
      for (const auto& x : n->as_array()) {
        if (x.is_string()) {
          a->notifiers.emplace_back(x.as_string());
        }
      }
    }
    auto int_of = [&](const char* k) {
      const auto* x = o.if_contains(k);
      return x != nullptr && x->is_int64() ? static_cast<int>(x->as_int64()) : 0;
    };
    auto bool_of = [&](const char* k) {
      const auto* x = o.if_contains(k);
      return x != nullptr && x->is_bool() && x->as_bool();
    };
    a->occurrences = std::max(1, int_of("occurrences"));
    a->notified_occurrences = int_of("notified_occurrences");
    a->instant = bool_of("instant");
    a->suppressed = bool_of("suppressed");
    a->escalated = bool_of("escalated");
    a->held = bool_of("held");
    a->last_notified = parse_iso8601(str(o, "last_notified"));
    return a;
  }
};

Manager::Manager(Context ctx)
    : ctx_(std::move(ctx)),
      outbox_(ctx_, [this](const Notification& n, const std::string& error) { on_give_up(n, error); }) {}

Manager::~Manager() { shutdown(); }

void Manager::shutdown() {
  *alive_ = false;
  outbox_.shutdown();
  for (auto& [k, a] : alerts_) {
    a->repeat_timer.reset();
    a->escalate_timer.reset();
  }
  silence_timer_.reset();
}

void Manager::start(const config::Config& cfg, const state::Loaded& loaded) {
  apply(cfg);
  outbox_.restore(loaded.outbox);
  const auto now = ctx_.clock.now();
  for (const auto& s : loaded.silences) {
    if (s.until > now) {
      silences_[s.target] = s;
    }
  }
  arm_silence_timer();
  for (const auto& [key, body] : loaded.active_alerts) {
    auto a = Alert::from_json(key, body);
    if (!a) {
      logger()->warn("alert key={} event=UNREADABLE; dropped", key);
      ctx_.store.delete_alert(key);
      continue;
    }
    if (a->kind == "watch") {
      // Watches start over at the end of their file with an empty window: the condition is
      // judged afresh and fires again if it still holds. Whoever was told it fired hears that it
      // is closed and why, rather than keeping an incident nothing will ever resolve.
      a->summary = "watch " + a->name + ": tendd restarted; the error rate is judged afresh from new lines";
      a->detail.clear();
      const bool told = a->last_notified && !a->held && !a->notifiers.empty();
      if (cfg_.send_resolved && told) {
        notify(*a, "resolved", a->notifiers);
      } else {
        record(*a, "resolved", "reset", {});
      }
      ctx_.store.delete_alert(key);
      continue;
    }
    auto& ref = *a;
    alerts_[key] = std::move(a);
    arm_timers(ref);
  }
  drop_removed(cfg);
  if (!alerts_.empty()) {
    logger()->info("alerts event=RESTORED firing={} silences={}", alerts_.size(), silences_.size());
  }
}

void Manager::apply(const config::Config& cfg) {
  host_ = cfg.daemon.host;
  environment_ = cfg.daemon.environment;
  const bool timings_changed =
      cfg.alerts.repeat_interval != cfg_.repeat_interval || cfg.alerts.escalate != cfg_.escalate;
  cfg_ = cfg.alerts;
  outbox_.configure(cfg.notifiers, cfg.alerts.delivery_max_age);
  drop_removed(cfg);
  if (timings_changed) {
    for (auto& [k, a] : alerts_) {
      arm_timers(*a);
    }
  }
}

void Manager::drop_removed(const config::Config& cfg) {
  std::set<std::string> names = {"tendd"};
  for (const auto& j : cfg.jobs) {
    names.insert(j.name);
  }
  for (const auto& p : cfg.probes) {
    names.insert(p.name);
  }
  for (const auto& w : cfg.watches) {
    names.insert(w.name);
  }
  for (const auto& c : cfg.checks) {
    names.insert(c.name);
  }
  std::vector<std::string> gone;
  for (const auto& [k, a] : alerts_) {
    if (names.count(a->name) == 0) {
      gone.push_back(k);
    }
  }
  for (const auto& k : gone) {
    const auto& a = *alerts_.at(k);
    events::Event e;
    e.kind = events::Kind::daemon;  // unused by close()
    e.name = a.name;
    e.event = a.event;
    e.status = events::Status::resolved;
    e.at = ctx_.clock.now();
    e.summary = a.kind + " " + a.name + " was removed from the configuration";
    close(k, e);
  }
}

// ---- lifecycle ----

void Manager::on_event(const events::Event& e) {
  const std::string key = std::string(events::to_string(e.kind)) + "/" + e.name + "/" + e.event;
  if (e.status == events::Status::resolved) {
    close(key, e);
    return;
  }
  auto it = alerts_.find(key);
  if (it == alerts_.end()) {
    open(e, key);
  } else {
    observe(*it->second, e);
  }
}

Manager::Alert& Manager::add(const std::string& key, const events::Event& e) {
  auto a = std::make_unique<Alert>();
  a->key = key;
  a->kind = events::to_string(e.kind);
  a->name = e.name;
  a->event = e.event;
  a->severity = e.severity;
  a->summary = e.summary;
  a->detail = e.detail;
  a->labels = e.labels;
  a->started_at = e.at;
  a->instant = is_instant(e.event);
  a->held = e.labels.count("hold") > 0;
  a->labels.erase("hold");
  auto& ref = *a;
  alerts_[key] = std::move(a);
  return ref;
}

void Manager::tell_first(Alert& a, const std::vector<std::string>& to) {
  if (a.held) {
    record(a, "firing", "held", to);
  } else if (to.empty()) {
    record(a, "firing", "no_route", to);
  } else if (muted(a.name)) {
    a.suppressed = true;
    record(a, "firing", "silenced", to);
  } else {
    notify(a, "firing", to);
  }
  arm_timers(a);
  persist(a);
}

void Manager::open(const events::Event& e, const std::string& key) {
  auto& a = add(key, e);
  tell_first(a, route(cfg_.routes, {a.severity, a.kind, a.name, environment_}));
}

void Manager::observe(Alert& a, const events::Event& e) {
  ++a.occurrences;
  a.summary = e.summary;
  a.detail = e.detail;
  for (const auto& [k, v] : e.labels) {
    if (k != "hold") {
      a.labels[k] = v;
    }
  }
  // More of the same: the count grows; the log gets a line at most once a minute per alert (a
  // job failing every second for a week must not write 600,000 lines), plus the first one.
  const bool log_it = !a.last_logged || ctx_.clock.now() - *a.last_logged >= std::chrono::minutes(1);
  if (a.held) {
    if (log_it) {
      record(a, "firing", "held", {});
    }
  } else if (e.severity != a.severity) {
    // warning <-> critical (watches): a new notification, routed for the new severity.
    a.severity = e.severity;
    const auto to = route(cfg_.routes, {a.severity, a.kind, a.name, environment_});
    if (muted(a.name)) {
      a.suppressed = true;
      record(a, "firing", "silenced", to);
    } else {
      notify(a, "changed", to);
    }
    arm_timers(a);
  } else if (log_it) {
    record(a, "firing", muted(a.name) ? "silenced" : "grouped", {});
  }
  persist(a);
}

void Manager::close(const std::string& key, const events::Event& e) {
  auto it = alerts_.find(key);
  if (it == alerts_.end()) {
    return;  // nothing firing (e.g. a probe seen up at start): nothing to resolve
  }
  auto& a = *it->second;
  a.summary = e.summary.empty() ? a.summary : e.summary;
  a.detail = e.detail;
  a.labels["resolved_at"] = format_iso8601(e.at);
  // Nothing to say when resolves are off, for moments, and when nobody was told it fired.
  const bool told = a.last_notified && !a.held && !a.notifiers.empty();
  // A resolve goes out even under a silence: whoever was told it fired (a pager's open incident)
  // must hear that it ended, and it is the opposite of noise.
  if (!cfg_.send_resolved || a.instant || !told) {
    record(a, "resolved", "closed", {});
  } else {
    notify(a, "resolved", a.notifiers);
  }
  ctx_.store.delete_alert(key);
  alerts_.erase(it);
}

Notification Manager::make(const Alert& a, const std::string& reason, const std::string& notifier) const {
  Notification n;
  n.id = new_id();
  n.notifier = notifier;
  n.status = reason == "resolved" ? "resolved" : "firing";
  n.event = a.event;
  n.severity = config::to_string(a.severity);
  n.kind = a.kind;
  n.name = a.name;
  n.summary = a.summary;
  n.detail = a.detail;
  n.host = host_;
  n.environment = environment_;
  n.started_at = a.started_at;
  n.created_at = ctx_.clock.now();
  if (reason == "resolved") {
    n.ended_at = n.created_at;
  }
  n.occurrences = a.occurrences;
  n.reason = reason;
  for (const auto& [k, v] : a.labels) {
    if (!v.empty() && k != "resolved_at") {
      n.labels[k] = v;
    }
  }
  return n;
}

void Manager::notify(Alert& a, const std::string& reason, const std::vector<std::string>& to) {
  if (to.empty()) {
    record(a, reason == "resolved" ? "resolved" : "firing", "no_route", to);
    return;
  }
  for (const auto& notifier : to) {
    outbox_.enqueue(make(a, reason, notifier));
  }
  a.notifiers = merged(a.notifiers, to);
  a.last_notified = ctx_.clock.now();
  a.notified_occurrences = a.occurrences;
  a.suppressed = false;
  record(a, reason == "resolved" ? "resolved" : "firing", reason, to);
  logger()->info("alert={} event=NOTIFY reason={} severity={} occurrences={} notifiers={}", a.key, reason,
                 config::to_string(a.severity), a.occurrences, join(to));
}

void Manager::arm_timers(Alert& a) {
  const auto now = ctx_.clock.now();
  const auto base = a.last_notified.value_or(a.started_at);
  const auto repeat_in =
      std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(base + cfg_.repeat_interval - now));
  a.repeat_timer = ctx_.clock.call_after(repeat_in, [this, alive = alive_, key = a.key] {
    if (*alive) {
      on_repeat(key);
    }
  });
  a.escalate_timer.reset();
  if (cfg_.escalate && !a.instant && !a.escalated) {
    const auto due =
        std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(a.started_at + cfg_.escalate->after - now));
    a.escalate_timer = ctx_.clock.call_after(due, [this, alive = alive_, key = a.key] {
      if (*alive) {
        on_escalate(key);
      }
    });
  }
}

void Manager::on_repeat(const std::string& key) {
  auto it = alerts_.find(key);
  if (it == alerts_.end()) {
    return;
  }
  auto& a = *it->second;
  if (a.instant && a.occurrences <= a.notified_occurrences) {
    // A moment, quiet for a whole interval: over.
    record(a, "resolved", "expired", {});
    ctx_.store.delete_alert(key);
    alerts_.erase(it);
    return;
  }
  auto to = a.notifiers.empty() ? route(cfg_.routes, {a.severity, a.kind, a.name, environment_}) : a.notifiers;
  if (a.escalated && cfg_.escalate) {
    // The escalation target is told once (and of the resolve), not at every repeat, unless a
    // route of the alert sends there anyway.
    const auto routed = route(cfg_.routes, {a.severity, a.kind, a.name, environment_});
    std::erase_if(to, [&](const std::string& n) {
      return std::find(cfg_.escalate->notify.begin(), cfg_.escalate->notify.end(), n) != cfg_.escalate->notify.end() &&
             std::find(routed.begin(), routed.end(), n) == routed.end();
    });
  }
  if (a.held) {
    a.last_notified = ctx_.clock.now();  // nothing to repeat; look again an interval later
  } else if (muted(a.name)) {
    a.suppressed = true;
    a.last_notified = ctx_.clock.now();  // the interval restarts; the count keeps growing
    record(a, "firing", "silenced", to);
  } else {
    notify(a, "repeat", to);
  }
  arm_timers(a);
  persist(a);
}

void Manager::on_escalate(const std::string& key) {
  auto it = alerts_.find(key);
  if (it == alerts_.end() || !cfg_.escalate) {
    return;
  }
  auto& a = *it->second;
  a.escalate_timer.reset();
  a.escalated = true;
  if (a.held) {
    record(a, "firing", "held", cfg_.escalate->notify);
  } else if (muted(a.name)) {
    record(a, "firing", "silenced", cfg_.escalate->notify);
  } else {
    notify(a, "escalation", cfg_.escalate->notify);
  }
  persist(a);
}

void Manager::on_give_up(const Notification& n, const std::string& error) {
  if (n.event == "delivery_failed" || n.reason == "test") {
    return;  // no alert about an alert about an alert; logged by the outbox
  }
  events::Event e;
  e.kind = events::Kind::daemon;
  e.name = "tendd";
  e.event = "delivery_failed";
  e.severity = config::Severity::critical;
  e.at = ctx_.clock.now();
  e.summary = "notification to " + n.notifier + " was given up: " + n.kind + " " + n.name + " " + n.event + " (" +
              n.status + ")";
  e.detail = "error: " + error + "\nlost notification: " + n.summary;
  e.labels = {{"notifier", n.notifier}, {"notification_id", n.id}};
  // On the other routes: whatever a daemon alert routes to, minus the notifier that failed.
  const std::string key = "daemon/tendd/delivery_failed/" + n.notifier;
  auto it = alerts_.find(key);
  if (it != alerts_.end()) {
    observe(*it->second, e);
    return;
  }
  auto& a = add(key, e);
  auto to = route(cfg_.routes, {a.severity, a.kind, a.name, environment_});
  std::erase(to, n.notifier);
  tell_first(a, to);
}

void Manager::persist(const Alert& a) { ctx_.store.put_alert(a.key, json::serialize(a.to_json())); }

void Manager::record(Alert& a, const std::string& status, const std::string& action,
                     const std::vector<std::string>& to) {
  a.last_logged = ctx_.clock.now();
  state::AlertLogRecord r;
  r.at = ctx_.clock.now();
  r.kind = a.kind;
  r.name = a.name;
  r.event = a.event;
  r.status = status;
  r.severity = config::to_string(a.severity);
  r.summary = a.summary;
  r.occurrences = a.occurrences;
  r.action = action;
  r.notifiers = join(to);
  ctx_.store.log_alert(std::move(r));
}

// ---- silences ----

bool Manager::muted(const std::string& name) const { return silenced_until(name).has_value(); }

std::optional<WallTime> Manager::silenced_until(const std::string& name) const {
  const auto now = ctx_.clock.now();
  std::optional<WallTime> until;
  for (const auto* target : {&name, static_cast<const std::string*>(nullptr)}) {
    auto it = silences_.find(target != nullptr ? *target : std::string("*"));
    if (it != silences_.end() && it->second.until > now) {
      until = until ? std::max(*until, it->second.until) : it->second.until;
    }
  }
  return until;
}

Expected<state::SilenceRecord> Manager::silence(const std::string& target, Duration duration, const std::string& reason,
                                                const std::string& by) {
  if (duration <= Duration::zero()) {
    return Error{"--for must be a positive duration"};
  }
  state::SilenceRecord s;
  s.target = target;
  s.created_at = ctx_.clock.now();
  s.until = s.created_at + duration;
  s.reason = reason;
  s.created_by = by;
  silences_[target] = s;
  ctx_.store.put_silence(s);
  logger()->info("silence target={} event=SILENCED until={} by={} reason={}", target, format_iso8601(s.until), by,
                 log::quote(reason));
  arm_silence_timer();
  return s;
}

int Manager::unsilence(const std::string& target) {
  return end_silences([&](const std::string& t, const state::SilenceRecord&) { return target == "*" || t == target; },
                      "UNSILENCED");
}

int Manager::end_silences(const std::function<bool(const std::string&, const state::SilenceRecord&)>& which,
                          const char* why) {
  std::vector<std::string> gone;
  for (const auto& [t, s] : silences_) {
    if (which(t, s)) {
      gone.push_back(t);
    }
  }
  for (const auto& t : gone) {
    silences_.erase(t);
    ctx_.store.delete_silence(t);
    logger()->info("silence target={} event={}", t, why);
  }
  for (const auto& t : gone) {
    release(t);
  }
  arm_silence_timer();
  return static_cast<int>(gone.size());
}

void Manager::arm_silence_timer() {
  silence_timer_.reset();
  std::optional<WallTime> next;
  for (const auto& [t, s] : silences_) {
    next = next ? std::min(*next, s.until) : s.until;
  }
  if (!next) {
    return;
  }
  const auto in = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*next - ctx_.clock.now()));
  silence_timer_ = ctx_.clock.call_after(in, [this, alive = alive_] {
    if (*alive) {
      expire_silences();
    }
  });
}

void Manager::expire_silences() {
  const auto now = ctx_.clock.now();
  end_silences([now](const std::string&, const state::SilenceRecord& s) { return s.until <= now; }, "EXPIRED");
}

void Manager::release(const std::string& target) {
  // A condition that began (or changed) under a silence and still holds is told now, rather than
  // at its next repeat hours later; moments that passed under the silence stay in the log only.
  for (auto& [k, a] : alerts_) {
    if (a->suppressed && !a->instant && (target == "*" || a->name == target) && !muted(a->name)) {
      notify(*a, "firing", route(cfg_.routes, {a->severity, a->kind, a->name, environment_}));
      arm_timers(*a);
      persist(*a);
    }
  }
}

// ---- commands ----

void Manager::test_alert(const std::string& notifier, const std::string& by,
                         std::function<void(bool, std::string)> done) {
  Alert a;
  a.kind = "daemon";
  a.name = "tendd";
  a.event = "test";
  a.severity = config::Severity::info;
  a.summary = "test notification from tend on " + host_ + " (requested by " + by + ")";
  a.detail = "If you can read this, notifier '" + notifier + "' works.";
  a.started_at = ctx_.clock.now();
  auto n = make(a, "test", notifier);
  logger()->info("notifier={} event=TEST id={} by={}", notifier, n.id, by);
  outbox_.send_now(n, std::move(done));
}

void Manager::digest(const std::string& job, std::function<void(DigestResult)> done) {
  const auto now = ctx_.clock.now();
  ctx_.store.summarize(now - std::chrono::hours(24), [this, alive = alive_, job, now,
                                                      done = std::move(done)](std::vector<state::EntrySummary> rows) {
    if (!*alive) {
      return;
    }
    std::string text;
    int failing = 0;
    for (const auto& r : rows) {
      if (r.entry == job) {
        continue;
      }
      std::string line;
      if (r.kind == "probe") {
        const double uptime = r.runs > 0 ? 100.0 * (r.runs - r.failures) / r.runs : 0.0;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f%%", uptime);
        line = "probe " + r.entry + ": uptime " + (r.runs > 0 ? std::string(buf) : "n/a") + " (" +
               std::to_string(r.failures) + " down of " + std::to_string(r.runs) + " results)";
      } else {
        line = r.kind + " " + r.entry + ": " + std::to_string(r.runs) + " run(s), " + std::to_string(r.failures) +
               " failed";
        if (r.runs > 0) {
          line += ", avg " + format_duration(milliseconds(r.total_ms / r.runs)) + ", max " +
                  format_duration(milliseconds(r.max_ms));
        }
        line += ", last success " + (r.last_success ? format_iso8601(*r.last_success) : std::string("never"));
      }
      if (r.failures > 0) {
        ++failing;
        line = "✗ " + line;
      } else {
        line = "✓ " + line;
      }
      text += line + "\n";
    }
    if (rows.empty()) {
      text = "no history yet\n";
    }
    Alert a;
    a.kind = "job";
    a.name = job;
    a.event = "digest";
    a.severity = config::Severity::info;
    a.summary =
        "daily digest for " + host_ + ": " + std::to_string(failing) + " of " +
        std::to_string(rows.size() - static_cast<std::size_t>(std::count_if(
                                         rows.begin(), rows.end(), [&](const auto& r) { return r.entry == job; }))) +
        " entries had failures in the last 24h";
    a.detail = text;
    a.started_at = now;
    const auto to = route(cfg_.routes, {a.severity, a.kind, a.name, environment_});
    for (const auto& n : to) {
      outbox_.enqueue(make(a, "digest", n));
    }
    DigestResult result;
    result.ok = !to.empty();
    result.reason = to.empty() ? "no route for the digest (no notifiers configured)" : "digest queued for " + join(to);
    result.text = a.summary + "\n" + text;
    done(std::move(result));
  });
}

json::object Manager::status() const {
  json::array firing;
  for (const auto& [k, a] : alerts_) {
    firing.push_back(json::object{{"kind", a->kind},
                                  {"name", a->name},
                                  {"event", a->event},
                                  {"severity", config::to_string(a->severity)},
                                  {"since", format_iso8601(a->started_at)},
                                  {"occurrences", a->occurrences},
                                  {"silenced", muted(a->name)},
                                  {"escalated", a->escalated},
                                  {"summary", a->summary}});
  }
  json::array silences;
  for (const auto& [t, s] : silences_) {
    silences.push_back(json::object{{"target", t == "*" ? "--all" : t},
                                    {"until", format_iso8601(s.until)},
                                    {"reason", s.reason},
                                    {"by", s.created_by}});
  }
  json::array notifiers;
  for (const auto& l : outbox_.status()) {
    notifiers.push_back(json::object{
        {"name", l.name},
        {"type", l.type},
        {"target", l.target},
        {"pending", l.pending},
        {"sent", l.sent},
        {"given_up", l.given_up},
        {"retries", l.retries},
        {"last_error", l.last_error.empty() ? json::value(nullptr) : json::value(l.last_error)},
        {"last_sent", l.last_sent ? json::value(format_iso8601(*l.last_sent)) : json::value(nullptr)},
        {"next_attempt", l.next_attempt ? json::value(format_iso8601(*l.next_attempt)) : json::value(nullptr)}});
  }
  return {{"firing", std::move(firing)},
          {"silences", std::move(silences)},
          {"notifiers", std::move(notifiers)},
          {"given_up", outbox_.given_up()}};
}

}  // namespace tend::alerts
