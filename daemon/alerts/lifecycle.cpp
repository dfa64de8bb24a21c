#include "alerts/lifecycle.hpp"

#include <algorithm>

#include "util/duration.hpp"

namespace tend::alerts {

namespace {

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

// The alert log gets a line about more of the same at most once a minute per alert (a job failing
// every second for a week must not write 600,000 lines), plus the first one.
constexpr auto kLogEvery = std::chrono::minutes(1);

}  // namespace

const char* to_string(Reason r) {
  switch (r) {
    case Reason::firing:
      return "firing";
    case Reason::repeat:
      return "repeat";
    case Reason::escalation:
      return "escalation";
    case Reason::resolved:
      return "resolved";
    case Reason::changed:
      return "changed";
    case Reason::flapping:
      return "flapping";
  }
  return "firing";
}

void Lifecycle::configure(const config::AlertsConfig& policy, Origin origin) {
  const bool timings_changed = policy.repeat_interval != policy_.repeat_interval || policy.escalate != policy_.escalate;
  policy_ = policy;
  origin_ = std::move(origin);
  if (timings_changed) {
    for (const auto& [key, a] : alerts_) {
      reschedule(*a);
    }
  }
}

// ---- the due index: one entry per pending repeat and escalation ----

void Lifecycle::unschedule(const std::string& key) {
  auto it = due_of_.find(key);
  if (it == due_of_.end()) {
    return;
  }
  for (const auto& d : it->second) {
    due_.erase(d);
  }
  due_of_.erase(it);
}

void Lifecycle::reschedule(const Alert& a) {
  unschedule(a.key);
  auto& mine = due_of_[a.key];
  const auto base = a.last_notified.value_or(a.started_at);
  mine.emplace_back(base + policy_.repeat_interval, a.key, Due::repeat);
  if (policy_.escalate && !a.instant && !a.escalated) {
    mine.emplace_back(a.started_at + policy_.escalate->after, a.key, Due::escalation);
  }
  for (const auto& d : mine) {
    due_.insert(d);
  }
}

std::optional<WallTime> Lifecycle::next_due() const {
  if (due_.empty()) {
    return std::nullopt;
  }
  return std::get<0>(*due_.begin());
}

// ---- effects ----

void Lifecycle::persist(const Alert& a, Effects& out) { out.writes.push_back({a.key, a}); }

void Lifecycle::erase(std::string key, Effects& out) {  // by value: it may be the key of the alert it destroys
  unschedule(key);
  excluded_.erase(key);
  alerts_.erase(key);
  out.writes.push_back({std::move(key), std::nullopt});
}

void Lifecycle::record(Alert& a, const char* status, const char* action, const std::vector<std::string>& to,
                       WallTime now, Effects& out, const std::string& note) {
  a.last_logged = now;
  state::AlertLogRecord r;
  r.at = now;
  r.kind = a.kind;
  r.name = a.name;
  r.event = a.event;
  r.status = status;
  r.severity = events::to_string(a.severity);
  r.summary = a.summary;
  r.occurrences = a.occurrences;
  r.action = action;
  r.notifiers = join(to);
  r.note = note;
  out.log.push_back(std::move(r));
}

void Lifecycle::notify(Alert& a, Reason reason, const std::vector<std::string>& to, WallTime now, Effects& out) {
  const char* status = reason == Reason::resolved ? "resolved" : "firing";
  if (to.empty()) {
    record(a, status, "no_route", to, now, out);
    return;
  }
  a.notifiers = merged(a.notifiers, to);
  a.last_notified = now;
  a.notified_occurrences = a.occurrences;
  a.suppressed = false;
  record(a, status, to_string(reason), to, now, out);
  out.sends.push_back({a, reason, to});
}

std::vector<std::string> Lifecycle::route_without(const Alert& a, const std::string& exclude) const {
  auto to = decisions_.route(a);
  if (!exclude.empty()) {
    std::erase(to, exclude);
  }
  return to;
}

// ---- transitions ----

Alert& Lifecycle::add(const std::string& key, const events::Event& e) {
  auto a = std::make_unique<Alert>();
  a->key = key;
  a->kind = std::string(e.type->kind);
  a->name = e.name;
  a->event = std::string(e.type->name);
  a->severity = e.severity;
  a->summary = e.summary;
  a->detail = e.detail;
  a->labels = e.labels;
  a->started_at = e.at;
  a->instant = e.type->instant;
  a->held = e.hold;
  auto& ref = *a;
  alerts_[key] = std::move(a);
  return ref;
}

void Lifecycle::tell_first(Alert& a, std::vector<std::string> to, WallTime now, Effects& out) {
  const bool quiet = flip(a, now, out);
  const std::string inhibitor = a.held ? std::string() : inhibition(a);
  if (a.held) {
    record(a, "firing", "held", to, now, out);
  } else if (!inhibitor.empty()) {
    a.inhibited = true;
    record(a, "firing", "inhibited", to, now, out, inhibitor);
  } else if (quiet) {
    record(a, "firing", "flapping", to, now, out);
  } else if (to.empty()) {
    record(a, "firing", "no_route", to, now, out);
  } else if (decisions_.muted(a.name, now)) {
    a.suppressed = true;
    record(a, "firing", "silenced", to, now, out);
  } else {
    notify(a, Reason::firing, to, now, out);
  }
  reschedule(a);
  persist(a, out);
}

void Lifecycle::open(const events::Event& e, const std::string& key, const std::string& exclude, WallTime now,
                     Effects& out) {
  auto& a = add(key, e);
  if (!exclude.empty()) {
    excluded_[key] = exclude;
  }
  tell_first(a, route_without(a, exclude), now, out);
}

void Lifecycle::grow(Alert& a, const events::Event& e, WallTime now, Effects& out) {
  ++a.occurrences;
  a.summary = e.summary;
  a.detail = e.detail;
  for (const auto& [k, v] : e.labels) {
    a.labels[k] = v;
  }
  const bool log_it = !a.last_logged || now - *a.last_logged >= kLogEvery;
  if (a.held) {
    if (log_it) {
      record(a, "firing", "held", {}, now, out);
    }
  } else if (e.severity != a.severity) {
    // warning <-> critical (watches): a new notification, routed for the new severity.
    a.severity = e.severity;
    const auto to = route_without(a, excluded_.count(a.key) > 0 ? excluded_.at(a.key) : std::string());
    const std::string inhibitor = inhibition(a);
    if (!inhibitor.empty()) {
      a.inhibited = true;
      record(a, "firing", "inhibited", to, now, out, inhibitor);
    } else if (flaps_.count(a.key) > 0 && flaps_.at(a.key).flapping) {
      record(a, "firing", "flapping", to, now, out);
    } else if (decisions_.muted(a.name, now)) {
      a.suppressed = true;
      record(a, "firing", "silenced", to, now, out);
    } else {
      notify(a, Reason::changed, to, now, out);
    }
    reschedule(a);
  } else if (log_it) {
    record(a, "firing", decisions_.muted(a.name, now) ? "silenced" : "grouped", {}, now, out);
  }
  persist(a, out);
}

void Lifecycle::close(const std::string& key, const std::string& summary, const std::string& detail, WallTime at,
                      WallTime now, Effects& out) {
  auto it = alerts_.find(key);
  if (it == alerts_.end()) {
    return;  // nothing firing (e.g. a probe seen up at start): nothing to resolve
  }
  auto& a = *it->second;
  a.summary = summary.empty() ? a.summary : summary;
  a.detail = detail;
  a.labels["resolved_at"] = format_iso8601(at);
  // Nothing to say when resolves are off, for moments, and when nobody was told it fired. A
  // resolve goes out even under a silence: whoever was told it fired (a pager's open incident)
  // must hear that it ended, and it is the opposite of noise.
  const bool told = a.last_notified && !a.held && !a.notifiers.empty();
  const bool quiet = !a.instant && flip(a, now, out);
  if (quiet) {
    record(a, "resolved", "flapping", {}, now, out);
  } else if (!policy_.send_resolved || a.instant || !told) {
    record(a, "resolved", "closed", {}, now, out);
  } else {
    notify(a, Reason::resolved, a.notifiers, now, out);
  }
  erase(key, out);
  uninhibit(now, out);  // it may have been the source that held others back
}

// ---- flapping ----

bool Lifecycle::flip(const Alert& a, WallTime now, Effects& out) {
  if (!policy_.flapping || a.instant) {
    return false;
  }
  auto& f = flaps_[a.key];
  f.last = a;
  f.told = merged(f.told, a.notifiers);
  f.changes.push_back(now);
  while (!f.changes.empty() && f.changes.front() + policy_.flapping->window < now) {
    f.changes.pop_front();
  }
  // Quiet until stable: looked at again one window after this change.
  auto& mine = due_of_[a.key + "#flap"];
  for (const auto& d : mine) {
    due_.erase(d);
  }
  mine = {std::make_tuple(now + policy_.flapping->window, a.key, Due::flap)};
  due_.insert(mine.front());
  if (f.flapping) {
    return true;
  }
  if (static_cast<int>(f.changes.size()) <= policy_.flapping->changes) {
    return false;
  }
  // Past the threshold: one notice, then quiet.
  f.flapping = true;
  Alert notice = a;
  notice.summary = a.kind + " " + a.name + " " + a.event + " is flapping: " + std::to_string(f.changes.size()) +
                   " changes in " + format_duration(policy_.flapping->window) +
                   "; quiet until it has been stable for " + format_duration(policy_.flapping->window);
  auto to = notice.notifiers.empty() ? decisions_.route(notice) : merged(notice.notifiers, decisions_.route(notice));
  record(notice, "flapping", "flapping", to, now, out);
  if (!to.empty() && !decisions_.muted(a.name, now) && !a.held) {
    out.sends.push_back({notice, Reason::flapping, to});
    f.told = merged(f.told, to);
  }
  return true;
}

void Lifecycle::on_stable(const std::string& key, WallTime now, Effects& out) {
  auto it = flaps_.find(key);
  if (it == flaps_.end()) {
    return;
  }
  auto& f = it->second;
  while (!f.changes.empty() && f.changes.front() + policy_.flapping->window <= now) {
    f.changes.pop_front();
  }
  const bool was_flapping = f.flapping;
  if (!f.changes.empty()) {
    return;  // a later change re-armed the check
  }
  Flap done = std::move(f);
  flaps_.erase(it);
  due_of_.erase(key + "#flap");
  if (!was_flapping) {
    return;
  }
  // Stable for a window: its final state, once.
  auto alive = alerts_.find(key);
  if (alive != alerts_.end()) {
    auto& a = *alive->second;
    if (!a.held && !a.inhibited && !decisions_.muted(a.name, now)) {
      notify(a, Reason::firing, merged(done.told, route_without(a, "")), now, out);
      reschedule(a);
      persist(a, out);
    }
  } else if (done.last && policy_.send_resolved && !done.told.empty()) {
    Alert last = *done.last;
    last.summary = last.kind + " " + last.name + " " + last.event + " stopped flapping and is resolved";
    notify(last, Reason::resolved, done.told, now, out);
  }
}

// ---- inhibition ----

std::string Lifecycle::inhibition(const Alert& a) const {
  for (std::size_t i = 0; i < policy_.inhibit.size(); ++i) {
    const auto& rule = policy_.inhibit[i];
    if (!matches(rule.target, a, origin_)) {
      continue;
    }
    for (const auto& entry : alerts_) {
      const auto& source = entry.second;
      if (source.get() == &a || source->key == a.key || source->instant || !matches(rule.source, *source, origin_)) {
        continue;
      }
      const bool equal = std::all_of(rule.equal.begin(), rule.equal.end(), [&](const std::string& l) {
        return label(a, l, origin_) == label(*source, l, origin_);
      });
      if (equal) {
        return "inhibit[" + std::to_string(i) + "] (source " + describe(rule.source) + ", target " +
               describe(rule.target) + "): " + source->key + " fires";
      }
    }
  }
  return {};
}

void Lifecycle::uninhibit(WallTime now, Effects& out) {
  for (auto& [k, a] : alerts_) {
    if (!a->inhibited || !inhibition(*a).empty()) {
      continue;
    }
    // Its source resolved and it still fires: now it is news.
    a->inhibited = false;
    if (a->held || a->instant) {
      persist(*a, out);
      continue;
    }
    const std::string exclude = excluded_.count(k) > 0 ? excluded_.at(k) : std::string();
    if (decisions_.muted(a->name, now)) {
      a->suppressed = true;
      record(*a, "firing", "silenced", {}, now, out);
    } else {
      notify(*a, Reason::firing, route_without(*a, exclude), now, out);
    }
    reschedule(*a);
    persist(*a, out);
  }
}

void Lifecycle::observe(const events::Event& e, WallTime now, Effects& out, const std::string& variant,
                        const std::string& exclude) {
  std::string key = std::string(e.type->kind) + "/" + e.name + "/" + std::string(e.type->name);
  if (!variant.empty()) {
    key += "/" + variant;
  }
  if (e.status == events::Status::resolved) {
    close(key, e.summary, e.detail, e.at, now, out);
    return;
  }
  auto it = alerts_.find(key);
  if (it == alerts_.end()) {
    open(e, key, exclude, now, out);
  } else {
    grow(*it->second, e, now, out);
  }
}

void Lifecycle::restore(Alert restored, WallTime now, Effects& out) {
  const auto* type = restored.type();
  if (type != nullptr && type->resets_on_restart) {
    // Judged afresh (a watch's window starts empty): the condition fires again if it still
    // holds. Whoever was told it fired hears that it is closed and why, rather than keeping an
    // incident nothing will ever resolve.
    restored.summary =
        restored.kind + " " + restored.name + ": tendd restarted; the condition is judged afresh from new data";
    restored.detail.clear();
    const bool told = restored.last_notified && !restored.held && !restored.notifiers.empty();
    if (policy_.send_resolved && told) {
      notify(restored, Reason::resolved, restored.notifiers, now, out);
    } else {
      record(restored, "resolved", "reset", {}, now, out);
    }
    out.writes.push_back({restored.key, std::nullopt});
    return;
  }
  auto a = std::make_unique<Alert>(std::move(restored));
  auto& ref = *a;
  alerts_[ref.key] = std::move(a);
  reschedule(ref);
}

void Lifecycle::drop_removed(const std::function<bool(const std::string&)>& keep, WallTime now, Effects& out) {
  std::vector<std::string> gone;
  for (const auto& [k, a] : alerts_) {
    if (!keep(a->name)) {
      gone.push_back(k);
    }
  }
  for (const auto& k : gone) {
    const auto& a = *alerts_.at(k);
    close(k, a.kind + " " + a.name + " was removed from the configuration", "", now, now, out);
  }
}

void Lifecycle::on_repeat(Alert& a, WallTime now, Effects& out) {
  if (a.instant && a.occurrences <= a.notified_occurrences) {
    // A moment, quiet for a whole interval: over.
    record(a, "resolved", "expired", {}, now, out);
    erase(a.key, out);
    return;
  }
  const std::string exclude = excluded_.count(a.key) > 0 ? excluded_.at(a.key) : std::string();
  auto to = a.notifiers.empty() ? route_without(a, exclude) : a.notifiers;
  if (a.escalated && policy_.escalate) {
    // The escalation target is told once (and of the resolve), not at every repeat, unless a
    // route of the alert sends there anyway.
    const auto routed = route_without(a, exclude);
    const auto& targets = policy_.escalate->notify;
    std::erase_if(to, [&](const std::string& n) {
      return std::find(targets.begin(), targets.end(), n) != targets.end() &&
             std::find(routed.begin(), routed.end(), n) == routed.end();
    });
  }
  if (a.held || a.inhibited || (flaps_.count(a.key) > 0 && flaps_.at(a.key).flapping)) {
    a.last_notified = now;  // nothing to repeat; look again an interval later
  } else if (decisions_.muted(a.name, now)) {
    a.suppressed = true;
    a.last_notified = now;  // the interval restarts; the count keeps growing
    record(a, "firing", "silenced", to, now, out);
  } else {
    notify(a, Reason::repeat, to, now, out);
  }
  reschedule(a);
  persist(a, out);
}

void Lifecycle::on_escalate(Alert& a, WallTime now, Effects& out) {
  if (!policy_.escalate) {
    return;
  }
  a.escalated = true;
  const auto& targets = policy_.escalate->notify;
  if (a.held) {
    record(a, "firing", "held", targets, now, out);
  } else if (a.inhibited) {
    record(a, "firing", "inhibited", targets, now, out, inhibition(a));
  } else if (decisions_.muted(a.name, now)) {
    record(a, "firing", "silenced", targets, now, out);
  } else {
    notify(a, Reason::escalation, targets, now, out);
  }
  // The repeat keeps its time: an escalation is told once, to its own targets; it does not
  // restart the routes' repeat interval.
  persist(a, out);
}

void Lifecycle::tick(WallTime now, Effects& out) {
  while (!due_.empty() && std::get<0>(*due_.begin()) <= now) {
    const auto [when, key, what] = *due_.begin();
    due_.erase(due_.begin());
    if (auto mine = due_of_.find(key); mine != due_of_.end()) {
      std::erase(mine->second, std::make_tuple(when, key, what));
    }
    if (what == Due::flap) {
      if (auto mine = due_of_.find(key + "#flap"); mine != due_of_.end()) {
        std::erase(mine->second, std::make_tuple(when, key, what));
      }
      on_stable(key, now, out);
      continue;
    }
    auto it = alerts_.find(key);
    if (it == alerts_.end()) {
      continue;
    }
    if (what == Due::repeat) {
      on_repeat(*it->second, now, out);
    } else {
      on_escalate(*it->second, now, out);
    }
  }
}

void Lifecycle::release(const std::string& target, WallTime now, Effects& out) {
  for (auto& [k, a] : alerts_) {
    if (a->suppressed && !a->instant && !a->inhibited && (target == "*" || a->name == target) &&
        !decisions_.muted(a->name, now)) {
      const std::string exclude = excluded_.count(k) > 0 ? excluded_.at(k) : std::string();
      notify(*a, Reason::firing, route_without(*a, exclude), now, out);
      reschedule(*a);
      persist(*a, out);
    }
  }
}

}  // namespace tend::alerts
