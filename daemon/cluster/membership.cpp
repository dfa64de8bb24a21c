#include "cluster/membership.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <utility>

#include "util/log.hpp"

namespace tend::cluster {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

std::string string_of(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

}  // namespace

const char* to_string(State s) {
  switch (s) {
    case State::joining:
      return "joining";
    case State::joined:
      return "joined";
    case State::degraded:
      return "degraded";
    case State::stopped:
      return "stopped";
  }
  return "unknown";
}

const char* to_string(Change::Kind k) {
  switch (k) {
    case Change::Kind::joined:
      return "joined";
    case Change::Kind::degraded:
      return "degraded";
    case Change::Kind::rejoined:
      return "rejoined";
  }
  return "unknown";
}

Membership::Membership(Etcd& etcd, Clock& clock, const Settings& settings, Identity identity)
    : etcd_(etcd),
      clock_(clock),
      settings_(resolve(settings)),
      identity_(std::move(identity)),
      keys_(settings_.prefix),
      log_(log::get("cluster")) {}

Membership::~Membership() = default;

// Answers from etcd may arrive after this is gone (the Etcd outlives it): they find no token.
template <class F>
auto Membership::guard(F f) {
  return [weak = std::weak_ptr<int>(alive_), f = std::move(f)](auto&&... args) mutable {
    if (weak.lock()) {
      f(std::forward<decltype(args)>(args)...);
    }
  };
}

void Membership::subscribe(Listener listener) { listeners_.push_back(std::move(listener)); }

void Membership::start() {
  started_at_ = format_iso8601(clock_.now());
  first_attempt_ = clock_.mono_now();
  reason_ = "joining";
  log_->info("cluster joining node={} prefix={} lease_ttl_s={} endpoints={}", settings_.node, settings_.prefix,
             std::chrono::duration_cast<std::chrono::seconds>(settings_.lease_ttl).count(), settings_.endpoints.size());
  step();
}

void Membership::stop(std::function<void()> done) {
  step_timer_.reset();
  deadline_timer_.reset();
  const LeaseId lease = lease_;
  set_state(State::stopped, "stopped", std::nullopt);
  lease_ = 0;
  registered_ = false;
  ++epoch_;
  if (lease == 0) {
    step_timer_ = clock_.call_after(milliseconds(0), [done = std::move(done)] { done(); });
    return;
  }
  etcd_.revoke(lease, guard([this, lease, done = std::move(done)](Expected<bool> r) {
                 if (!r) {
                   log_->warn("cluster lease revoke failed lease={} error={}", lease, log::quote(r.error()));
                 }
                 done();
               }));
}

bool Membership::holds(LeaseId lease) const {
  return state_ == State::joined && lease != 0 && lease == lease_ && clock_.mono_now() < deadline_;
}

milliseconds Membership::lease_left() const {
  if (lease_ == 0) {
    return milliseconds(0);
  }
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline_ - clock_.mono_now()));
}

void Membership::schedule_step(milliseconds delay) {
  step_timer_ = clock_.call_after(delay, [this] { step(); });
}

// One link of the chain at a time: grant → register → keepalive every ttl/3 → ...
void Membership::step() {
  if (state_ == State::stopped || busy_) {
    return;
  }
  if (lease_ == 0) {
    do_grant();
  } else if (!registered_) {
    do_register();
  } else {
    do_keepalive();
  }
}

void Membership::do_grant() {
  busy_ = true;
  const MonoTime sent = clock_.mono_now();
  const std::uint64_t epoch = epoch_;
  etcd_.grant(std::chrono::duration_cast<std::chrono::seconds>(settings_.lease_ttl),
              guard([this, sent, epoch](Expected<Lease> r) {
                if (state_ == State::stopped || epoch != epoch_) {
                  if (r) {
                    previous_.push_back(r->id);  // granted too late to use: revoke it later
                  }
                  return;
                }
                busy_ = false;
                if (!r) {
                  join_failed(r.error(), false);
                  return;
                }
                lease_ = r->id;
                deadline_ = sent + r->ttl;
                arm_deadline();
                do_register();
              }));
}

std::string Membership::member_value() const {
  json::object o;
  o["node"] = settings_.node;
  o["host"] = identity_.host;
  o["version"] = identity_.version;
  o["started_at"] = started_at_;
  return json::serialize(o);
}

void Membership::do_register() {
  busy_ = true;
  const std::string key = keys_.member(settings_.node);
  const std::uint64_t epoch = epoch_;
  Txn txn;
  txn.compare.push_back(Compare::absent(key));
  txn.success.push_back(Op::put(key, member_value(), lease_));
  txn.failure.push_back(Op::get(key));
  etcd_.txn(std::move(txn), guard([this, key, epoch](Expected<TxnResult> r) {
              if (state_ == State::stopped || epoch != epoch_) {
                return;
              }
              busy_ = false;
              if (!r) {
                join_failed(r.error(), false);
                return;
              }
              if (r->succeeded) {
                joined();
                return;
              }
              const auto& kvs = r->results.empty() ? std::vector<KeyValue>{} : r->results.front().kvs;
              const LeaseId holder = kvs.empty() ? 0 : kvs.front().lease;
              // Ours already: an earlier attempt went through but its answer was lost.
              if (holder == lease_) {
                joined();
                return;
              }
              // A lease this process gave up (lost, then etcd came back before it expired): take
              // the name back, fenced on that lease so a live stranger is never overwritten.
              if (holder != 0 && std::find(previous_.begin(), previous_.end(), holder) != previous_.end()) {
                busy_ = true;
                Txn take;
                take.compare.push_back(Compare::lease_is(key, holder));
                take.success.push_back(Op::put(key, member_value(), lease_));
                etcd_.txn(std::move(take), guard([this, epoch](Expected<TxnResult> t) {
                            if (state_ == State::stopped || epoch != epoch_) {
                              return;
                            }
                            busy_ = false;
                            if (!t) {
                              join_failed(t.error(), false);
                            } else if (t->succeeded) {
                              joined();
                            } else {
                              schedule_step(milliseconds(0));  // changed meanwhile: look again
                            }
                          }));
                return;
              }
              join_failed("node name " + settings_.node + " is held by another live member (lease " +
                              std::to_string(holder) + ")",
                          true);
            }));
}

void Membership::do_keepalive() {
  busy_ = true;
  const MonoTime sent = clock_.mono_now();
  const LeaseId lease = lease_;
  const std::uint64_t epoch = epoch_;
  etcd_.keepalive(lease, guard([this, sent, lease, epoch](Expected<std::optional<std::chrono::seconds>> r) {
                    if (state_ == State::stopped || epoch != epoch_ || lease != lease_) {
                      return;
                    }
                    busy_ = false;
                    const milliseconds every = settings_.lease_ttl / 3;
                    if (!r) {
                      // Not lost yet: the deadline decides. Try again soon, not a whole third later.
                      last_error_ = r.error();
                      log_->warn("cluster keepalive failed lease={} left_ms={} error={}", lease, lease_left().count(),
                                 log::quote(r.error()));
                      schedule_step(std::min(every, milliseconds(500)));
                      return;
                    }
                    if (!r->has_value()) {
                      lease_lost("lease expired at etcd");
                      return;
                    }
                    deadline_ = std::max(deadline_, sent + **r);
                    arm_deadline();
                    last_error_.clear();
                    const auto since = clock_.mono_now() - sent;
                    schedule_step(std::max(milliseconds(0), every - std::chrono::duration_cast<milliseconds>(since)));
                  }));
}

void Membership::joined() {
  registered_ = true;
  last_error_.clear();
  const bool again = ever_joined_;
  ever_joined_ = true;
  log_->info("cluster {} node={} lease={} ttl_left_ms={}", again ? "rejoined" : "joined", settings_.node, lease_,
             lease_left().count());
  set_state(State::joined, "", again ? Change::Kind::rejoined : Change::Kind::joined);
  revoke_previous();
  schedule_step(settings_.lease_ttl / 3);
}

void Membership::join_failed(const std::string& reason, bool name_conflict) {
  last_error_ = reason;
  // Right after a crash the previous incarnation's member key lives until its lease expires: a
  // name conflict within the first TTL (and a bit) is that, and not worth a critical alert.
  const bool grace = name_conflict && !ever_joined_ &&
                     clock_.mono_now() - first_attempt_ < settings_.lease_ttl + settings_.lease_ttl / 2;
  // Degraded now, unless already (nothing new to tell) or within that grace (not yet).
  if (state_ != State::degraded && !(state_ == State::joining && grace)) {
    log_->error("cluster degraded node={} reason={}", settings_.node, log::quote(reason));
    set_state(State::degraded, reason, Change::Kind::degraded);
  } else {
    reason_ = reason;
  }
  schedule_step(settings_.lease_ttl / 3);
}

void Membership::lease_lost(const std::string& reason) {
  const std::string why = last_error_.empty() ? reason : reason + " (" + last_error_ + ")";
  if (lease_ != 0) {
    previous_.push_back(lease_);
  }
  const LeaseId lost = lease_;
  lease_ = 0;
  registered_ = false;
  ++epoch_;  // whatever is in flight about the old lease is now stale
  busy_ = false;
  deadline_timer_.reset();
  if (state_ == State::joined) {
    log_->error("cluster lease lost node={} lease={} reason={}", settings_.node, lost, log::quote(why));
    set_state(State::degraded, "lease lost: " + why, Change::Kind::degraded);
  } else {
    // Not joined under it: no claim was bound to it. Just start over with a new one; join_failed
    // has already said (or will say) why this host is not joined.
    log_->debug("cluster unregistered lease expired node={} lease={}", settings_.node, lost);
  }
  schedule_step(milliseconds(0));  // a new lease at once (it fails fast if etcd is still away)
}

void Membership::arm_deadline() {
  deadline_timer_ = clock_.call_at(deadline_, [this] {
    if (lease_ != 0 && clock_.mono_now() >= deadline_) {
      lease_lost("not renewed within its TTL");
    }
  });
}

void Membership::revoke_previous() {
  // The old leases' claims were given up when they were declared lost; revoking makes their keys
  // go now, so the ticks they held are taken over without waiting for their TTL to run out.
  for (const LeaseId old : previous_) {
    etcd_.revoke(old, guard([this, old](Expected<bool> r) {
                   if (r) {
                     previous_.erase(std::remove(previous_.begin(), previous_.end(), old), previous_.end());
                   }
                 }));
  }
}

void Membership::set_state(State s, std::string reason, std::optional<Change::Kind> event) {
  state_ = s;
  reason_ = std::move(reason);
  if (!event) {
    return;
  }
  Change change;
  change.kind = *event;
  change.reason = reason_;
  change.lease = lease_;
  // A copy: a listener may subscribe another.
  const auto listeners = listeners_;
  for (const auto& l : listeners) {
    l(change);
  }
}

void Membership::members(Etcd::Done<std::vector<Member>> done) {
  etcd_.range(keys_.members(), prefix_end(keys_.members()), false,
              guard([this, done = std::move(done)](Expected<Range> r) mutable {
                if (!r) {
                  done(Error{r.error()});
                  return;
                }
                struct Gather {
                  std::vector<Member> members;
                  std::size_t waiting = 0;
                  Etcd::Done<std::vector<Member>> done;
                };
                auto g = std::make_shared<Gather>();
                g->done = std::move(done);
                for (const auto& kv : r->kvs) {
                  Member m;
                  m.node = kv.key.substr(keys_.members().size());
                  m.lease = kv.lease;
                  boost::system::error_code ec;
                  auto v = json::parse(kv.value, ec);
                  if (!ec && v.is_object()) {
                    m.host = string_of(v.get_object(), "host");
                    m.version = string_of(v.get_object(), "version");
                    m.started_at = string_of(v.get_object(), "started_at");
                  }
                  g->members.push_back(std::move(m));
                }
                std::sort(g->members.begin(), g->members.end(),
                          [](const Member& a, const Member& b) { return a.node < b.node; });
                g->waiting = g->members.size();
                if (g->waiting == 0) {
                  auto finish = std::move(g->done);
                  finish(std::move(g->members));
                  return;
                }
                for (std::size_t i = 0; i < g->members.size(); ++i) {
                  etcd_.time_to_live(g->members[i].lease, [g, i](Expected<std::optional<std::chrono::seconds>> t) {
                    if (t) {
                      g->members[i].ttl_left = *t;
                    }
                    if (--g->waiting == 0) {
                      auto finish = std::move(g->done);
                      finish(std::move(g->members));
                    }
                  });
                }
              }));
}

}  // namespace tend::cluster
