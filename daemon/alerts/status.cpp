// The `alerts` section of the status document: what fires, what is silenced, how each notifier
// is doing (targets as scheme://host only).

#include <boost/json.hpp>

#include "alerts/engine.hpp"

namespace tend::alerts {

namespace json = boost::json;

namespace {

json::value time_or_null(const std::optional<WallTime>& t) {
  return t ? json::value(format_iso8601(*t)) : json::value(nullptr);
}

}  // namespace

json::object Engine::status() const {
  const auto now = ctx_.clock.now();
  json::array firing;
  for (const auto& [k, a] : lifecycle_.alerts()) {
    firing.push_back(
        json::object{{"kind", a->kind},
                     {"name", a->name},
                     {"event", a->event},
                     {"severity", events::to_string(a->severity)},
                     {"since", format_iso8601(a->started_at)},
                     {"occurrences", a->occurrences},
                     {"silenced", silences_.muted(a->name, now)},
                     {"escalated", a->escalated},
                     {"flapping", lifecycle_.flapping(k)},
                     {"inhibited_by", a->inhibited ? json::value(lifecycle_.inhibition(*a)) : json::value(nullptr)},
                     {"summary", a->summary}});
  }
  json::array silences;
  for (const auto& [t, s] : silences_.all()) {
    silences.push_back(json::object{{"target", t == "*" ? "--all" : t},
                                    {"until", format_iso8601(s.until)},
                                    {"reason", s.reason},
                                    {"by", s.created_by}});
  }
  json::array notifiers;
  for (const auto& l : outbox_.status()) {
    notifiers.push_back(
        json::object{{"name", l.name},
                     {"type", l.type},
                     {"target", l.target},
                     {"pending", l.pending},
                     {"sent", l.sent},
                     {"given_up", l.given_up},
                     {"retries", l.retries},
                     {"last_error", l.last_error.empty() ? json::value(nullptr) : json::value(l.last_error)},
                     {"last_sent", time_or_null(l.last_sent)},
                     {"next_attempt", time_or_null(l.next_attempt)}});
  }
  return {{"firing", std::move(firing)},
          {"silences", std::move(silences)},
          {"notifiers", std::move(notifiers)},
          {"groups", groups()},
          {"given_up", outbox_.given_up()}};
}

}  // namespace tend::alerts
