#include "events/event.hpp"

#include <algorithm>

namespace tend::events {

const char* to_string(Kind k) {
  switch (k) {
    case Kind::job:
      return "job";
    case Kind::probe:
      return "probe";
    case Kind::watch:
      return "watch";
    case Kind::check:
      return "check";
    case Kind::daemon:
      return "daemon";
  }
  return "?";
}

const char* to_string(Status s) { return s == Status::firing ? "firing" : "resolved"; }

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
