// Commands about alerting: silence, unsilence, test-alert, alerts (the alert log).

#include <algorithm>
#include <boost/json/array.hpp>

#include "alerts/engine.hpp"
#include "commands/handlers.hpp"
#include "entries/registry.hpp"
#include "state/store.hpp"
#include "util/duration.hpp"

namespace tend::commands::detail {

namespace json = boost::json;

namespace {

/// "name", or "all": true (the "*" target); exactly one of them.
std::optional<std::string> silence_target(const json::object& req, control::Reply& reply) {
  const auto* all = req.if_contains("all");
  const bool is_all = all != nullptr && all->is_bool() && all->as_bool();
  const auto* n = req.if_contains("name");
  const bool has_name = n != nullptr && !n->is_null();
  if (is_all == has_name) {
    reply(control::error_reply("give either \"name\" or \"all\": true"));
    return std::nullopt;
  }
  if (is_all) {
    return std::string("*");
  }
  return string_field(req, "name", reply);
}

}  // namespace

void silence(Services& s, const json::object& req, const control::Peer& peer, control::Reply reply) {
  auto target = silence_target(req, reply);
  if (!target) {
    return;
  }
  if (*target != "*" && !s.entries.find(*target) && *target != "tendd") {
    reply(control::error_reply("unknown entry '" + *target + "' (use --all to silence everything)"));
    return;
  }
  const auto* f = req.if_contains("for");
  if (f == nullptr || !f->is_string()) {
    reply(control::error_reply("\"for\" is required: a duration such as 2h"));
    return;
  }
  auto d = parse_duration(std::string(f->as_string()));
  if (!d) {
    reply(control::error_reply(d.error()));
    return;
  }
  std::string reason;
  if (const auto* r = req.if_contains("reason"); r != nullptr && r->is_string()) {
    reason = std::string(r->as_string());  // alerting bounds it
  }
  auto silenced = s.alerts.silence(*target, *d, reason, peer_name(peer));
  if (!silenced) {
    reply(control::error_reply(silenced.error()));
    return;
  }
  json::object doc;
  doc["ok"] = true;
  doc["target"] = *target == "*" ? "--all" : *target;
  doc["until"] = format_iso8601(silenced->until);
  reply(std::move(doc));
}

void unsilence(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  auto target = silence_target(req, reply);
  if (!target) {
    return;
  }
  const int removed = s.alerts.unsilence(*target);
  if (removed == 0) {
    reply(control::error_reply(*target == "*" ? "nothing is silenced" : "'" + *target + "' is not silenced"));
    return;
  }
  json::object doc;
  doc["ok"] = true;
  doc["removed"] = removed;
  reply(std::move(doc));
}

void test_alert(Services& s, const json::object& req, const control::Peer& peer, control::Reply reply) {
  auto notifier = string_field(req, "notifier", reply);
  if (!notifier) {
    return;
  }
  s.alerts.test_alert(*notifier, peer_name(peer), [reply](bool ok, const std::string& message) {
    if (!ok) {
      reply(control::error_reply(message));
      return;
    }
    json::object doc;
    doc["ok"] = true;
    doc["message"] = message;
    reply(std::move(doc));
  });
}

void alerts(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  std::string name;
  if (const auto* n = req.if_contains("name"); n != nullptr && n->is_string()) {
    name = std::string(n->as_string());
  }
  auto limit = int_field(req, "n", 50, 1, 10000, reply);
  if (!limit) {
    return;
  }
  // What fires now (with the rule holding each inhibited one) and the open groups: the log says
  // what happened, these say where things stand.
  const json::object now = s.alerts.status();
  json::array firing;
  for (const auto& f : now.at("firing").as_array()) {
    if (name.empty() || f.as_object().at("name").as_string() == name) {
      firing.push_back(f);
    }
  }
  json::array groups;
  for (const auto& g : now.at("groups").as_array()) {
    const auto& members = g.as_object().at("firing").as_array();
    const bool has = std::any_of(members.begin(), members.end(), [&](const json::value& k) {
      // member keys are "kind/name/event"
      const std::string_view key = k.as_string();
      const auto slash = key.find('/');
      return slash != std::string_view::npos && key.substr(slash + 1, name.size() + 1) == name + "/";
    });
    if (name.empty() || has) {
      groups.push_back(g);
    }
  }
  s.store.alert_log(
      name, static_cast<int>(*limit),
      [reply, firing = std::move(firing), groups = std::move(groups)](std::vector<state::AlertLogRecord> rows) mutable {
        json::array a;
        for (const auto& r : rows) {
          a.push_back(json::object{{"at", format_iso8601(r.at)},
                                   {"kind", r.kind},
                                   {"name", r.name},
                                   {"event", r.event},
                                   {"status", r.status},
                                   {"severity", r.severity},
                                   {"summary", r.summary},
                                   {"occurrences", r.occurrences},
                                   {"action", r.action},
                                   {"notifiers", r.notifiers},
                                   {"note", r.note}});
        }
        json::object doc;
        doc["ok"] = true;
        doc["alerts"] = std::move(a);
        doc["firing"] = std::move(firing);
        doc["groups"] = std::move(groups);
        reply(std::move(doc));
      });
}

}  // namespace tend::commands::detail
