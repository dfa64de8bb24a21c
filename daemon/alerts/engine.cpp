#include "alerts/engine.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "alerts/labels.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace tend::alerts {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("alerts"); }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

}  // namespace

Engine::Engine(Context ctx)
    : ctx_(std::move(ctx)),
      outbox_(
          ctx_, [this](const Notification& n, const std::string& error) { on_give_up(n, error); },
          [this](const std::string& notifier, const std::string& key, WallTime at) { on_flushed(notifier, key, at); }),
      lifecycle_(*this) {}

Engine::~Engine() { shutdown(); }

void Engine::shutdown() {
  outbox_.shutdown();
  timer_.reset();
  lifetime_.renew();
}

// ---- Decisions ----

std::vector<std::string> Engine::route(const Alert& a) const {
  return alerts::route(cfg_.routes, {a.severity, a.kind, a.name, environment_});
}

bool Engine::muted(const std::string& name, WallTime now) const { return silences_.muted(name, now); }

// ---- configuration ----

void Engine::start(const config::Config& cfg, const state::Loaded& loaded) {
  host_ = cfg.daemon.host;
  environment_ = cfg.daemon.environment;
  cfg_ = cfg.alerts;
  lifecycle_.configure(cfg.alerts, Origin{cfg.daemon.host, cfg.daemon.environment});
  outbox_.configure(cfg.notifiers, cfg.alerts.delivery_max_age);
  know_notifiers(cfg);
  outbox_.restore(loaded.outbox);
  const auto now = ctx_.clock.now();
  silences_.restore(loaded.silences, now);
  Effects fx;
  for (const auto& [key, body] : loaded.active_alerts) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    try {
      if (ec) {
        throw std::invalid_argument(ec.message());
      }
      auto a = json::value_to<Alert>(v);
      a.key = key;
      lifecycle_.restore(std::move(a), now, fx);
    } catch (const std::exception& e) {
      // Only a damaged database gets here (what is written is valid UTF-8 JSON): say so loudly.
      logger()->error("alert key={} event=UNREADABLE error={}; dropped", key, log::quote(e.what()));
      fx.writes.push_back({key, std::nullopt});
    }
  }
  drop_removed(cfg, fx);  // what belongs to entries that are gone is resolved
  run(fx);
  if (!lifecycle_.alerts().empty()) {
    logger()->info("alerts event=RESTORED firing={} silences={}", lifecycle_.alerts().size(), silences_.all().size());
  }
}

void Engine::apply(const config::Config& cfg) {
  host_ = cfg.daemon.host;
  environment_ = cfg.daemon.environment;
  cfg_ = cfg.alerts;
  lifecycle_.configure(cfg.alerts, Origin{cfg.daemon.host, cfg.daemon.environment});
  outbox_.configure(cfg.notifiers, cfg.alerts.delivery_max_age);
  know_notifiers(cfg);
  Effects fx;
  drop_removed(cfg, fx);
  run(fx);
}

void Engine::drop_removed(const config::Config& cfg, Effects& fx) {
  std::set<std::string> names = {"tendd"};
  for (const auto& e : cfg.entries) {
    names.insert(e.name);
  }
  lifecycle_.drop_removed([&](const std::string& name) { return names.count(name) > 0; }, ctx_.clock.now(), fx);
}

// ---- events and time ----

void Engine::on_event(const events::Event& e) {
  if (e.type->report) {
    return;  // reports are sent, not tracked
  }
  Effects fx;
  lifecycle_.observe(e, ctx_.clock.now(), fx);
  run(fx);
}

void Engine::on_give_up(const Notification& n, const std::string& error) {
  if (n.event == events::types::daemon_delivery_failed.name || n.reason == "test") {
    return;  // no alert about an alert about an alert; logged by the outbox
  }
  auto e = events::Event::of(events::types::daemon_delivery_failed, "tendd");
  e.at = ctx_.clock.now();
  e.summary = "notification to " + n.notifier + " was given up: " + n.kind + " " + n.name + " " + n.event + " (" +
              n.status + ")";
  e.detail = "error: " + error + "\nlost notification: " + n.summary;
  e.labels = {{"notifier", n.notifier}, {"notification_id", n.id}};
  // On the other routes: whatever a daemon alert routes to, minus the notifier that failed.
  Effects fx;
  lifecycle_.observe(e, ctx_.clock.now(), fx, n.notifier, n.notifier);
  run(fx);
}

void Engine::run(Effects& fx) {
  for (const auto& w : fx.writes) {
    if (w.alert) {
      ctx_.store.put_alert(w.key, json::serialize(json::value_from(*w.alert)));
    } else {
      ctx_.store.delete_alert(w.key);
    }
  }
  for (auto& row : fx.log) {
    ctx_.store.log_alert(std::move(row));
  }
  for (const auto& s : fx.sends) {
    for (const auto& notifier : s.to) {
      auto n = make(s.alert, to_string(s.reason), notifier);
      join_group(n, s.alert, s.to);
      if (claim_ && n.kind != "daemon") {
        claim_(n, lifetime_.guard([this, n](bool send) mutable {
          if (send) {
            outbox_.enqueue(std::move(n));
          } else {
            logger()->info("alert={}/{}/{} notifier={} event=NOT_SENT reason={}", n.kind, n.name, n.event, n.notifier,
                           log::quote("another host of the cluster sends it"));
          }
        }));
        continue;
      }
      outbox_.enqueue(std::move(n));
    }
    logger()->info("alert={} event=NOTIFY reason={} severity={} occurrences={} notifiers={}", s.alert.key,
                   to_string(s.reason), events::to_string(s.alert.severity), s.alert.occurrences, join(s.to));
  }
  arm();
}

void Engine::arm() {
  timer_.reset();
  auto next = lifecycle_.next_due();
  if (auto end = silences_.next_end(); end && (!next || *end < *next)) {
    next = end;
  }
  if (!next) {
    return;
  }
  const auto in = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*next - ctx_.clock.now()));
  timer_ = ctx_.clock.call_after(in, lifetime_.guard([this] { on_timer(); }));
}

void Engine::on_timer() {
  const auto now = ctx_.clock.now();
  const auto ended = silences_.remove([now](const state::SilenceRecord& s) { return s.until <= now; });
  if (!ended.empty()) {
    end_silences(ended, "EXPIRED");
  }
  Effects fx;
  lifecycle_.tick(now, fx);
  run(fx);
}

Notification Engine::make(const Alert& a, const std::string& reason, const std::string& notifier) const {
  Notification n;
  n.id = new_id();
  n.notifier = notifier;
  n.status = reason == "resolved" ? "resolved" : reason == "flapping" ? "flapping" : "firing";
  n.event = a.event;
  n.severity = events::to_string(a.severity);
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

// ---- groups ----

void Engine::know_notifiers(const config::Config& cfg) {
  notifier_types_.clear();
  for (const auto& n : cfg.notifiers) {
    notifier_types_[n.name] = n.type;
  }
}

void Engine::join_group(Notification& n, const Alert& a, const std::vector<std::string>& to) {
  const auto type = notifier_types_.find(n.notifier);
  if (cfg_.group_by.empty() || type == notifier_types_.end() || !groups_messages(type->second)) {
    return;
  }
  const Origin origin{host_, environment_};
  std::string key;
  for (const auto& l : cfg_.group_by) {
    key += (key.empty() ? "" : ",") + l + "=" + label(a, l, origin);
  }
  key += " -> " + join(to);
  auto& g = groups_[{n.notifier, key}];
  const auto now = ctx_.clock.now();
  if (!g.next || *g.next <= now) {
    // Nothing waiting (or what waited is being sent now): the first message of a new group waits
    // group_wait for company; a later one goes a group_interval after the last.
    const auto last = g.next ? g.next : g.flushed;
    g.next = last ? std::max(now, *last + cfg_.group_interval) : now + cfg_.group_wait;
  }
  if (n.status == "resolved") {
    g.firing.erase(a.key);
  } else {
    g.firing.insert(a.key);
  }
  n.group_key = key;
  n.not_before = g.next;
}

void Engine::on_flushed(const std::string& notifier, const std::string& key, WallTime at) {
  const auto it = groups_.find({notifier, key});
  if (it == groups_.end()) {
    return;  // a group restored from the outbox of a previous run
  }
  auto& g = it->second;
  g.flushed = at;
  if (g.next && *g.next <= at) {
    g.next.reset();  // nothing else waits (members that joined since wait for a later flush)
  }
  if (g.firing.empty() && !g.next) {
    groups_.erase(it);  // all resolved and told: the group is closed
  }
}

json::array Engine::groups() const {
  json::array out;
  for (const auto& [id, g] : groups_) {
    json::array firing;
    for (const auto& k : g.firing) {
      firing.emplace_back(k);
    }
    json::object o{{"notifier", id.first}, {"key", id.second}, {"firing", std::move(firing)}};
    if (g.flushed) {
      o["last_sent"] = format_iso8601(*g.flushed);
    }
    if (g.next) {
      o["next_send"] = format_iso8601(*g.next);
    }
    out.push_back(std::move(o));
  }
  return out;
}

// ---- silences ----

std::optional<WallTime> Engine::silenced_until(const std::string& name) const {
  return silences_.until(name, ctx_.clock.now());
}

Expected<state::SilenceRecord> Engine::silence(const std::string& target, Duration duration, const std::string& reason,
                                               const std::string& by) {
  if (duration <= Duration::zero()) {
    return Error{"--for must be a positive duration"};
  }
  state::SilenceRecord s;
  s.target = target;
  s.created_at = ctx_.clock.now();
  s.until = s.created_at + duration;
  // The reason comes from a socket user and is shown in status: bounded, whole characters.
  s.reason = head_utf8(reason, 500);
  s.created_by = by;
  silences_.add(s);
  ctx_.store.put_silence(s);
  logger()->info("silence target={} event=SILENCED until={} by={} reason={}", target, format_iso8601(s.until), by,
                 log::quote(reason));
  arm();
  return s;
}

int Engine::unsilence(const std::string& target) {
  const auto gone =
      silences_.remove([&](const state::SilenceRecord& s) { return target == "*" || s.target == target; });
  end_silences(gone, "UNSILENCED");
  return static_cast<int>(gone.size());
}

void Engine::end_silences(const std::vector<std::string>& targets, const char* why) {
  for (const auto& t : targets) {
    ctx_.store.delete_silence(t);
    logger()->info("silence target={} event={}", t, why);
  }
  Effects fx;
  for (const auto& t : targets) {
    lifecycle_.release(t, ctx_.clock.now(), fx);
  }
  run(fx);
}

// ---- reports ----

void Engine::test_alert(const std::string& notifier, const std::string& by,
                        std::function<void(bool, std::string)> done) {
  Alert a;
  a.kind = std::string(events::types::daemon_test.kind);
  a.name = "tendd";
  a.event = std::string(events::types::daemon_test.name);
  a.severity = events::types::daemon_test.severity;
  a.summary = "test notification from tend on " + host_ + " (requested by " + by + ")";
  a.detail = "If you can read this, notifier '" + notifier + "' works.";
  a.started_at = ctx_.clock.now();
  auto n = make(a, "test", notifier);
  logger()->info("notifier={} event=TEST id={} by={}", notifier, n.id, by);
  outbox_.send_now(n, std::move(done));
}

std::vector<std::string> Engine::send_report(const events::EventType& type, const std::string& name,
                                             std::string summary, std::string detail) {
  Alert a;
  a.kind = std::string(type.kind);
  a.name = name;
  a.event = std::string(type.name);
  a.severity = type.severity;
  a.summary = std::move(summary);
  a.detail = std::move(detail);
  a.started_at = ctx_.clock.now();
  const auto to = route(a);
  for (const auto& n : to) {
    outbox_.enqueue(make(a, std::string(type.name), n));
  }
  return to;
}

}  // namespace tend::alerts
