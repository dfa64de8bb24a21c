#include "events/event.hpp"

#include <algorithm>

#include "util/log.hpp"

namespace tend::events {

const char* to_string(Status s) { return s == Status::firing ? "firing" : "resolved"; }

Event Event::of(const EventType& type, std::string name, Status status) {
  Event e;
  e.type = &type;
  e.name = std::move(name);
  e.status = status;
  e.severity = type.severity;
  return e;
}

void log_event(const Event& e) {
  static const auto events_log = log::get("events");
  if (e.status == Status::resolved || e.severity == Severity::info) {
    events_log->info("kind={} name={} event={} status={} severity={} summary={}", e.type->kind, e.name, e.type->name,
                     to_string(e.status), to_string(e.severity), log::quote(e.summary));
  } else {
    events_log->warn("kind={} name={} event={} status={} severity={} summary={}", e.type->kind, e.name, e.type->name,
                     to_string(e.status), to_string(e.severity), log::quote(e.summary));
  }
}

int Bus::subscribe(Subscriber s) {
  subscribers_.emplace_back(next_id_, std::move(s));
  return next_id_++;
}

void Bus::unsubscribe(int id) {
  std::erase_if(subscribers_, [id](const auto& p) { return p.first == id; });
}

void Bus::publish(const Event& e) {
  // Copy: a subscriber may (un)subscribe while we iterate.
  auto subs = subscribers_;
  for (auto& [id, fn] : subs) {
    fn(e);
  }
}

}  // namespace tend::events
