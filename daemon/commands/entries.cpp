// Commands about entries: status, history, output, run, pause, resume, ping. They find entries in
// the registry and use the capabilities of the Entry contract; no kind is named here.

#include <algorithm>
#include <boost/json/array.hpp>

#include "alerts/engine.hpp"
#include "alerts/heartbeat.hpp"
#include "commands/handlers.hpp"
#include "entries/documents.hpp"
#include "entries/registry.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/duration.hpp"

namespace tend::commands {

namespace json = boost::json;

json::object status_document(Services& s) {
  json::object doc;
  doc["ok"] = true;
  json::object d = s.daemon_section();
  d["state_write_errors"] = s.store.write_errors();
  d["notifications_given_up"] = s.alerts.given_up();
  doc["daemon"] = std::move(d);
  json::array entries;
  for (const auto& entry : s.entries.all()) {
    auto o = entry->status_entry();
    // Alerting owns silences: it says how long each entry's notifications are muted.
    if (auto until = s.alerts.silenced_until(entry->name())) {
      o["silenced_until"] = format_iso8601(*until);
    }
    entries.emplace_back(std::move(o));
  }
  doc["entries"] = std::move(entries);
  doc["alerts"] = s.alerts.status();
  doc["heartbeat"] = s.heartbeat.status();
  if (s.cluster_section) {
    doc["cluster"] = s.cluster_section();
  }
  return doc;
}

namespace detail {

void status(Services& s, const json::object& /*req*/, const control::Peer& /*peer*/, control::Reply reply) {
  reply(status_document(s));
}

void cluster(Services& s, const json::object& /*req*/, const control::Peer& /*peer*/, control::Reply reply) {
  if (!s.cluster_document) {
    reply(control::error_reply("not in cluster mode: the config has no cluster: section"));
    return;
  }
  s.cluster_document(std::move(reply));
}

void history(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  auto name = string_field(req, "name", reply);
  if (!name) {
    return;
  }
  auto limit = int_field(req, "n", 20, 1, 10000, reply);
  if (!limit) {
    return;
  }
  const bool known = s.entries.find(*name) != nullptr;
  const auto n = static_cast<std::size_t>(*limit);
  s.store.history(
      *name, static_cast<int>(*limit), [&s, reply, known, n, name = *name](std::vector<state::RunRecord> runs) {
        if (runs.empty() && !known) {
          reply(control::error_reply("unknown entry '" + name + "'"));
          return;
        }
        json::object doc;
        doc["ok"] = true;
        doc["name"] = name;
        json::array a;
        for (const auto& r : runs) {
          a.emplace_back(entries::run_to_json(r));
        }
        if (!s.cluster_section || !s.cluster_runs) {
          doc["runs"] = std::move(a);
          reply(std::move(doc));
          return;
        }
        // Cluster mode: this host's runs, and every other host's as the cluster recorded them.
        const std::string node(s.cluster_section().at("node").as_string());
        for (auto& r : a) {
          r.as_object()["host"] = node;
        }
        doc["runs"] = std::move(a);
        s.cluster_runs(name, n, [reply, n, node, doc = std::move(doc)](std::optional<json::array> remote) mutable {
          auto& rows = doc["runs"].as_array();
          if (!remote) {
            doc["cluster_error"] = "etcd cannot be asked: this host's runs only";
          } else {
            for (auto& r : *remote) {
              if (r.as_object().at("host").as_string() != node) {
                rows.emplace_back(std::move(r));
              }
            }
          }
          // Newest first across hosts (ISO-8601 UTC sorts as time does).
          std::stable_sort(rows.begin(), rows.end(), [](const json::value& x, const json::value& y) {
            return x.as_object().at("started_at").as_string() > y.as_object().at("started_at").as_string();
          });
          if (rows.size() > n) {
            rows.resize(n);
          }
          reply(std::move(doc));
        });
      });
}

void output(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  auto name = string_field(req, "name", reply);
  if (!name) {
    return;
  }
  std::optional<std::int64_t> run_id;
  if (const auto* r = req.if_contains("run_id"); r != nullptr && !r->is_null()) {
    if (!r->is_int64()) {
      reply(control::error_reply("\"run_id\" must be an integer"));
      return;
    }
    run_id = r->as_int64();
  }
  if (auto entry = s.entries.find(*name)) {
    if (auto live = entry->live_output(); live && (!run_id || *run_id == live->run_id)) {
      json::object doc;
      doc["ok"] = true;
      doc["run_id"] = live->run_id;
      doc["running"] = true;
      doc["output"] = live->output;
      reply(std::move(doc));
      return;
    }
  }
  s.store.run_output(*name, run_id, [reply, name = *name](std::optional<state::RunRecord> r) {
    if (!r) {
      reply(control::error_reply("no recorded run of '" + name + "'"));
      return;
    }
    json::object doc = entries::run_to_json(*r);
    doc["ok"] = true;
    doc["running"] = false;
    doc["output"] = r->output;
    reply(std::move(doc));
  });
}

void run(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  auto name = string_field(req, "name", reply);
  if (!name) {
    return;
  }
  const auto kind = s.entries.kind_for("run");
  auto entry = s.entries.find(*name);
  if (!entry || entry->kind() != kind) {
    reply(control::error_reply("unknown " + std::string(kind) + " '" + *name + "'"));
    return;
  }
  const auto* w = req.if_contains("wait");
  const bool wait = w != nullptr && w->is_bool() && w->as_bool();
  entries::RunDone on_done;
  if (wait) {
    on_done = [reply](const state::RunRecord& r) {
      json::object doc = entries::run_to_json(r);
      doc["ok"] = true;
      doc["output"] = r.output;
      reply(std::move(doc));
    };
  }
  auto started = entry->run_now(on_done);
  if (!started) {
    reply(control::error_reply(started.error()));
    return;
  }
  if (!wait) {
    json::object doc;
    doc["ok"] = true;
    doc["run_id"] = *started;
    reply(std::move(doc));
  }
}

void pause(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  auto name = string_field(req, "name", reply);
  if (!name) {
    return;
  }
  auto entry = s.entries.find(*name);
  if (!entry) {
    reply(control::error_reply("unknown entry '" + *name + "'"));
    return;
  }
  json::object doc;
  doc["ok"] = true;
  std::optional<WallTime> until;
  if (const auto* f = req.if_contains("for"); f != nullptr && !f->is_null()) {
    if (!f->is_string()) {
      reply(control::error_reply("\"for\" must be a duration such as 10m"));
      return;
    }
    auto d = parse_duration(std::string(f->as_string()));
    if (!d) {
      reply(control::error_reply(d.error()));
      return;
    }
    until = s.clock.now() + *d;
    doc["until"] = format_iso8601(*until);
  }
  entry->pause(until);
  reply(std::move(doc));
}

void resume(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  auto name = string_field(req, "name", reply);
  if (!name) {
    return;
  }
  auto entry = s.entries.find(*name);
  if (!entry) {
    reply(control::error_reply("unknown entry '" + *name + "'"));
    return;
  }
  entry->resume();
  json::object doc;
  doc["ok"] = true;
  reply(std::move(doc));
}

void ping(Services& s, const json::object& req, const control::Peer& /*peer*/, control::Reply reply) {
  // A report from a job that runs elsewhere: anyone who may open the socket may send one; the
  // entry checks and bounds everything in it.
  auto name = string_field(req, "name", reply);
  if (!name) {
    return;
  }
  const std::string kind(s.entries.kind_for("ping"));
  auto entry = s.entries.find(*name);
  if (!entry) {
    reply(control::error_reply("unknown " + kind + " '" + *name + "'"));
    return;
  }
  if (entry->kind() != kind) {
    reply(control::error_reply("'" + *name + "' is not a " + kind + " (only " + kind + "s take pings)"));
    return;
  }
  auto answer = entry->report(req, s.clock.now());
  if (!answer) {
    reply(control::error_reply(answer.error()));
    return;
  }
  auto doc = std::move(*answer);
  doc["ok"] = true;
  reply(std::move(doc));
}

}  // namespace detail

}  // namespace tend::commands
