#include "core/cluster_link.hpp"

#include <boost/json/serialize.hpp>
#include <cstdio>

#include "events/catalogue.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace tend::core {
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

const auto& logger() {
  static auto l = log::get("cluster");
  return l;
}

std::string field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out;
}

json::value number_or_null(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? json::value(v->as_int64()) : json::value(nullptr);
}

// A run as the cluster recorded it, in the shape of a history row (entries::run_to_json) plus the
// host that ran it and the tick.
json::object run_row(const cluster::RunRecord& r) {
  const auto& f = r.fields;
  json::object o;
  o["run_id"] = number_or_null(f, "run_id");
  o["attempt"] = nullptr;
  const std::string started = field(f, "started_at");
  o["started_at"] = started.empty() ? r.tick : started;
  const std::string ended = field(f, "finished_at");
  o["ended_at"] = ended.empty() ? json::value(nullptr) : json::value(ended);
  o["duration_ms"] = number_or_null(f, "duration_ms");
  std::string outcome = r.state == "finished" ? field(f, "result") : r.state;
  if (r.state == "started") {
    outcome = "running";
  }
  o["outcome"] = outcome;
  o["exit_code"] = nullptr;
  o["signal"] = nullptr;
  o["reason"] = field(f, "reason");
  o["host"] = r.node;
  o["tick"] = r.tick;
  return o;
}

}  // namespace

// A won tick, recorded as started; its end is recorded once, fenced.
class ClusterLink::TickGrant final : public entries::Cluster::Grant {
 public:
  TickGrant(std::weak_ptr<cluster::Node> node, cluster::Claim claim)
      : node_(std::move(node)), claim_(std::move(claim)) {}
  ~TickGrant() override {
    if (!done_) {
      // Never finished (the job went away mid-run): the open key stays "started", and once this
      // host leaves, one host of the cluster reports the run interrupted.
      logger()->warn("cluster run left open job={} tick={}", claim_.job, claim_.tick);
    }
  }
  TickGrant(const TickGrant&) = delete;
  TickGrant& operator=(const TickGrant&) = delete;

  void finished(std::int64_t run_id, const std::string& outcome, const std::string& reason,
                std::int64_t duration_ms) override {
    if (done_) {
      return;
    }
    done_ = true;
    auto node = node_.lock();
    if (!node) {
      return;
    }
    json::object fields{{"result", outcome}, {"reason", reason}, {"duration_ms", duration_ms}};
    if (run_id > 0) {
      fields["run_id"] = run_id;
    }
    node->claims().record_result(
        claim_, std::move(fields), [job = claim_.job, tick = claim_.tick](Expected<cluster::Fence> f) {
          if (!f) {
            logger()->warn("cluster result not recorded job={} tick={} error={}", job, tick, log::quote(f.error()));
          } else if (*f == cluster::Fence::lost) {
            logger()->warn("cluster result fenced job={} tick={} reason={}", job, tick,
                           log::quote("the claim was lost while it ran: the cluster has it interrupted"));
          }
        });
  }

 private:
  std::weak_ptr<cluster::Node> node_;
  cluster::Claim claim_;
  bool done_ = false;
};

ClusterLink::ClusterLink(http::Client& http, Clock& clock, const cluster::Settings& settings,
                         cluster::Identity identity, events::Bus& bus)
    : clock_(clock), bus_(bus), node_(std::make_shared<cluster::Node>(http, clock, settings, std::move(identity))) {
  node_->membership().subscribe([this](const cluster::Change& c) { on_change(c); });
  cluster::Claims::Handlers h;
  h.runs_job = [this](const std::string& job) { return jobs_.count(job) != 0; };
  h.taken_over = [this](const cluster::Claim& c) { on_taken_over(c); };
  h.interrupted = [this](const cluster::RunRecord& r) { on_interrupted(r); };
  node_->claims().set_handlers(std::move(h));
}

ClusterLink::~ClusterLink() = default;

void ClusterLink::start() { node_->start(); }

void ClusterLink::stop(std::function<void()> done) { node_->stop(std::move(done)); }

void ClusterLink::on_change(const cluster::Change& c) {
  const auto& s = node_->settings();
  if (c.kind == cluster::Change::Kind::degraded) {
    degraded_ = true;
    auto e = events::Event::of(events::types::daemon_cluster_degraded, "tendd");
    e.summary = "tendd on " + s.node + " lost the cluster (" + c.reason + "): run_on: any jobs do not run here";
    e.detail = "etcd: " + join(s.endpoints) + "; prefix " + s.prefix +
               "\nprobes, watches, checks and run_on: all / host jobs go on; this host rejoins by itself";
    e.at = clock_.now();
    e.labels = {{"node", s.node}};
    bus_.publish(e);
    return;
  }
  // Catch-up claims made before the first join go now (one per job: bounded).
  auto waiting = std::move(waiting_join_);
  waiting_join_.clear();
  for (auto& w : waiting) {
    w();
  }
  if (degraded_) {
    degraded_ = false;
    auto e = events::Event::of(events::types::daemon_cluster_degraded, "tendd", events::Status::resolved);
    e.summary = "tendd on " + s.node + " rejoined the cluster";
    e.at = clock_.now();
    e.labels = {{"node", s.node}};
    bus_.publish(e);
  }
}

void ClusterLink::claim(const std::string& job, WallTime tick, bool catch_up, Granted done) {
  auto on_claim = [this, job, tick, catch_up, done = std::move(done)](Expected<cluster::ClaimResult> r) mutable {
    if (!r) {
      logger()->warn("job={} event=NOT_CLAIMED catch_up={} reason={}", job, catch_up,
                     log::quote("etcd: " + r.error() + "; not run here"));
      done(nullptr);
      return;
    }
    if (r->outcome != cluster::Outcome::won) {
      logger()->debug("job={} tick={} event=LOST_CLAIM reason={}", job, format_iso8601(tick), log::quote(r->reason));
      done(nullptr);
      return;
    }
    start_claimed(r->claim, std::move(done));
  };
  if (catch_up && node_->membership().state() != cluster::State::joined) {
    // At start the catch-up of the ticks missed while down comes before the first join; it must
    // not be lost to "not joined" (regular ticks are: the next one comes in a period).
    waiting_join_.push_back([this, job, tick, on_claim = std::move(on_claim)]() mutable {
      node_->claims().claim_catch_up(job, tick, std::move(on_claim));
    });
  } else if (catch_up) {
    node_->claims().claim_catch_up(job, tick, std::move(on_claim));
  } else {
    node_->claims().claim(job, tick, std::move(on_claim));
  }
}

void ClusterLink::start_claimed(const cluster::Claim& c, Granted done) {
  node_->claims().record_start(c, json::object{}, [this, c, done = std::move(done)](Expected<cluster::Fence> f) {
    if (!f || *f != cluster::Fence::held) {
      logger()->warn("job={} tick={} event=NOT_STARTED reason={}", c.job, c.tick,
                     log::quote(!f ? "etcd: " + f.error() : std::string("fenced: the claim is no longer ours")));
      done(nullptr);
      return;
    }
    done(std::make_shared<TickGrant>(node_, c));
  });
}

void ClusterLink::attach(const std::string& job, Listener listener) { jobs_[job] = std::move(listener); }

void ClusterLink::detach(const std::string& job) { jobs_.erase(job); }

void ClusterLink::on_taken_over(const cluster::Claim& c) {
  auto tick = parse_iso8601(c.tick);
  if (!tick || jobs_.count(c.job) == 0) {
    // Not ours after all (removed by a reload meanwhile): close it, so the tick is accounted for.
    TickGrant(node_, c).finished(0, "skipped", "skipped: not a job of this host", 0);
    return;
  }
  start_claimed(c, [this, job = c.job, t = *tick](std::shared_ptr<Grant> g) {
    auto it = jobs_.find(job);
    if (!g) {
      return;
    }
    if (it == jobs_.end()) {
      g->finished(0, "skipped", "skipped: job removed", 0);
      return;
    }
    it->second.given(t, std::move(g));
  });
}

void ClusterLink::on_interrupted(const cluster::RunRecord& run) {
  // Recorded in etcd as interrupted (every host's `tend history` shows it, with the host that ran
  // it); not in this host's store, whose rows are this host's runs.
  logger()->error("job={} event=INTERRUPTED tick={} node={} reason=host_lost", run.job, run.tick, run.node);
  // The job tells it (an alert, like a failure): one host of the cluster hears it, so one alert.
  auto it = jobs_.find(run.job);
  if (it != jobs_.end() && it->second.interrupted) {
    it->second.interrupted(parse_iso8601(run.tick).value_or(clock_.now()), run.node);
  }
}

std::string ClusterLink::notification_id(const alerts::Notification& n) {
  // What makes two hosts' notifications "the same": not the host, not the random id. The firing
  // instant to the second: hosts that see the same thing in the same second send it once.
  const auto second = [](WallTime t) { return std::to_string(to_unix_ms(t) / 1000); };
  const std::string text = n.notifier + '\n' + n.kind + '\n' + n.name + '\n' + n.event + '\n' + n.status + '\n' +
                           n.reason + '\n' + std::to_string(n.occurrences) + '\n' + second(n.started_at) + '\n' +
                           (n.ended_at ? second(*n.ended_at) : std::string());
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (const unsigned char ch : text) {
    h = (h ^ ch) * 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void ClusterLink::claim_notification(const alerts::Notification& n, std::function<void(bool send)> send) {
  const std::string id = notification_id(n);
  node_->claims().claim_notification(id, [id, send = std::move(send)](Expected<cluster::Outcome> r) {
    if (!r) {
      logger()->warn("notification={} event=UNCLAIMED reason={}", id,
                     log::quote("etcd: " + r.error() + "; sending it from here"));
      send(true);
      return;
    }
    send(*r == cluster::Outcome::won);
  });
}

json::object ClusterLink::status() const {
  const auto& m = node_->membership();
  json::object o;
  o["node"] = node_->settings().node;
  o["state"] = cluster::to_string(m.state());
  o["reason"] = m.reason();
  o["prefix"] = node_->settings().prefix;
  o["lease_left_ms"] = m.lease_left().count();
  o["run_on_any_jobs"] = jobs_.size();
  const auto& st = node_->claims().stats();
  o["claims"] = json::object{{"won", st.won},
                             {"lost", st.lost},
                             {"errors", st.errors},
                             {"fenced", st.fenced},
                             {"taken_over", st.taken_over},
                             {"interrupted", st.interrupted}};
  return o;
}

void ClusterLink::document(std::function<void(json::object)> done) {
  node_->membership().members([this, done = std::move(done)](Expected<std::vector<cluster::Member>> members) mutable {
    auto doc = std::make_shared<json::object>();
    (*doc)["ok"] = true;
    for (const auto& [k, v] : status()) {
      if (!v.is_object()) {
        (*doc)[k] = v;
      }
    }
    json::array ms;
    if (!members) {
      (*doc)["error"] = "etcd: " + members.error();
    } else {
      for (const auto& m : *members) {
        ms.push_back(
            json::object{{"node", m.node},
                         {"host", m.host},
                         {"version", m.version},
                         {"started_at", m.started_at},
                         {"lease_left_s", m.ttl_left ? json::value(m.ttl_left->count()) : json::value(nullptr)}});
      }
    }
    (*doc)["members"] = std::move(ms);
    (*doc)["ticks"] = json::array{};
    auto pending = std::make_shared<std::size_t>(jobs_.size());
    if (*pending == 0 || !members) {
      done(std::move(*doc));
      return;
    }
    auto finish = std::make_shared<std::function<void(json::object)>>(std::move(done));
    for (const auto& [job, unused] : jobs_) {
      node_->claims().runs(job, 5, [doc, pending, finish, job = job](Expected<std::vector<cluster::RunRecord>> r) {
        if (r) {
          for (const auto& run : *r) {
            const json::object row = run_row(run);
            (*doc)["ticks"].as_array().push_back(json::object{{"job", job},
                                                              {"tick", run.tick},
                                                              {"host", run.node},
                                                              {"outcome", row.at("outcome")},
                                                              {"duration_ms", row.at("duration_ms")}});
          }
        }
        if (--*pending == 0) {
          (*finish)(std::move(*doc));
        }
      });
    }
  });
}

void ClusterLink::runs(const std::string& job, std::size_t n, std::function<void(std::optional<json::array>)> done) {
  node_->claims().runs(job, n, [done = std::move(done)](Expected<std::vector<cluster::RunRecord>> r) {
    if (!r) {
      done(std::nullopt);
      return;
    }
    json::array rows;
    for (const auto& run : *r) {
      rows.push_back(run_row(run));
    }
    done(std::move(rows));
  });
}

}  // namespace tend::core
