#include "cluster/claims.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <map>

#include "util/log.hpp"
#include "util/names.hpp"

namespace tend::cluster {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

// Operations per transaction: etcd refuses more than --max-txn-ops (128 by default).
constexpr std::size_t kMaxOrphansPerSweep = 64;

std::string string_of(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return !ec && v.is_object() ? std::move(v.get_object()) : json::object();
}

const KeyValue* first_kv(const TxnResult& r, std::size_t index) {
  if (index >= r.results.size() || r.results[index].kvs.empty()) {
    return nullptr;
  }
  return &r.results[index].kvs.front();
}

// The catch-up marker only ever moves forward: set to `tick` if it is below it or absent.
Txn advance_marker(const std::string& marker, const std::string& tick) {
  Txn if_absent;
  if_absent.compare.push_back(Compare::absent(marker));
  if_absent.success.push_back(Op::put(marker, tick));
  Txn if_less;
  if_less.compare.push_back(Compare::value_less(marker, tick));
  if_less.success.push_back(Op::put(marker, tick));
  if_less.failure.push_back(Op::nested(std::move(if_absent)));
  return if_less;
}

}  // namespace

const char* to_string(Outcome o) { return o == Outcome::won ? "won" : "lost"; }
const char* to_string(Fence f) { return f == Fence::held ? "held" : "lost"; }

Claims::Claims(Etcd& etcd, Clock& clock, Membership& membership, const Settings& settings)
    : etcd_(etcd),
      clock_(clock),
      membership_(membership),
      settings_(resolve(settings)),
      keys_(settings_.prefix),
      log_(log::get("cluster")),
      batcher_(etcd, clock) {}

Claims::~Claims() = default;

template <class F>
auto Claims::guard(F f) {
  return [weak = std::weak_ptr<int>(alive_), f = std::move(f)](auto&&... args) mutable {
    if (weak.lock()) {
      f(std::forward<decltype(args)>(args)...);
    }
  };
}

// Answers that need no round trip still come on a later turn of the loop, never from inside the call.
template <class T>
void Claims::later(Done<T> done, Expected<T> value) {
  const std::uint64_t id = next_timer_++;
  deferred_[id] =
      clock_.call_after(milliseconds(0), [this, id, done = std::move(done), v = std::move(value)]() mutable {
        auto self = std::move(deferred_[id]);
        deferred_.erase(id);
        done(std::move(v));
      });
}

std::string Claims::stamp() const {
  // Milliseconds, so take-over times can be read off the records.
  const WallTime now = clock_.now();
  std::string s = format_iso8601(now);
  const auto ms = to_unix_ms(now) % 1000;
  char frac[5];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms < 0 ? ms + 1000 : ms));
  if (!s.empty() && s.back() == 'Z') {
    s.insert(s.size() - 1, frac);
  }
  return s;
}

void Claims::set_handlers(Handlers handlers) { handlers_ = std::move(handlers); }

void Claims::start() {
  started_ = true;
  schedule_sweep();
}

void Claims::claim(const std::string& job, WallTime tick, Done<ClaimResult> done) {
  // A regular claim of a tick this old could find its record already deleted by retention and
  // run it a second time: missed ticks are catch-up's (claim_catch_up), never a late claim's.
  if (clock_.now() - tick > settings_.run_retention / 2) {
    ClaimResult late;
    late.claim.job = job;
    late.claim.tick = tick_id(tick);
    late.reason = "too old to claim (catch-up decides)";
    ++stats_.lost;
    later(std::move(done), Expected<ClaimResult>(std::move(late)));
    return;
  }
  Attempt a;
  a.job = job;
  a.tick = tick_id(tick);
  a.retry_until = tick + settings_.claim_grace;
  claim_tick(std::move(a), std::move(done));
}

void Claims::claim_catch_up(const std::string& job, WallTime tick, Done<ClaimResult> done) {
  Attempt a;
  a.job = job;
  a.tick = tick_id(tick);
  a.mode = Mode::catch_up;
  claim_tick(std::move(a), std::move(done));
}

void Claims::after_a_while(std::function<void()> f) {
  const std::uint64_t id = next_timer_++;
  deferred_[id] = clock_.call_after(settings_.sweep_interval, [this, id, f = std::move(f)] {
    auto self = std::move(deferred_[id]);
    deferred_.erase(id);
    f();
  });
}

// A failed attempt is tried again while there is time: the same value under the same lease.
void Claims::retry_claim(Attempt a, Done<ClaimResult> done, const std::string& error) {
  if (!a.retry_until || !started_ || clock_.now() + settings_.sweep_interval > *a.retry_until) {
    ++stats_.errors;
    later(std::move(done), Expected<ClaimResult>(Error{error}));
    return;
  }
  ++stats_.retries;
  log_->debug("cluster claim retried job={} tick={} error={}", a.job, a.tick, log::quote(error));
  after_a_while(
      [this, a = std::move(a), done = std::move(done)]() mutable { claim_tick(std::move(a), std::move(done)); });
}

void Claims::claim_tick(Attempt a, Done<ClaimResult> done) {
  if (!valid_name(a.job)) {
    later(std::move(done), Expected<ClaimResult>(Error{"cluster: invalid job name \"" + a.job + "\""}));
    return;
  }
  const LeaseId lease = membership_.lease();
  if (!membership_.holds(lease)) {
    retry_claim(std::move(a), std::move(done), "cluster: not joined (" + membership_.reason() + ")");
    return;
  }
  const std::string tk = keys_.tick(a.job, a.tick);
  const std::string rk = keys_.run(a.job, a.tick);
  const std::string ok = keys_.open(a.job, a.tick);
  const std::string mk = keys_.last_tick(a.job);
  if (a.value.empty() || a.lease != lease) {
    json::object v;
    v["node"] = membership_.node();
    v["state"] = "claimed";
    v["claimed_at"] = stamp();
    v["lease"] = std::to_string(lease);
    // Makes this claim's value unique: a retry of it finds exactly it, a second claim of the same
    // tick by this host does not (and loses, as it must).
    v["seq"] = ++sequence_;
    if (a.mode == Mode::take_over || a.mode == Mode::steal) {
      v["taken_over"] = true;
    }
    a.value = json::serialize(v);
    a.lease = lease;
  }
  std::vector<Op> win = {Op::put(tk, a.value, lease), Op::put(ok, a.value)};

  Txn txn;
  if (a.mode == Mode::take_over) {
    // The tick is open and still "claimed" exactly as the sweep saw it, and nobody holds it now.
    txn.compare = {Compare::absent(tk), Compare::modified_at(ok, a.open_rev)};
  } else if (a.mode == Mode::steal) {
    // Open and "claimed" exactly as the sweep saw it twice, by the very claim it saw: the put keeps
    // the key's create_revision and binds it to this host's lease, so its first claimer's fence
    // (same create_revision and its own lease) fails from now on.
    txn.compare = {Compare::modified_at(ok, a.open_rev), Compare::created_at(tk, a.claim_rev),
                   Compare::lease_is(tk, a.claim_lease)};
  } else {
    // Nobody holds it, it is not open (claimed by a host whose lease ended: the sweep's), and it
    // has no run record (finished).
    txn.compare = {Compare::absent(tk), Compare::absent(ok), Compare::absent(rk)};
  }
  if (a.mode == Mode::take_over || a.mode == Mode::steal) {
    txn.success = win;
  } else if (a.mode == Mode::regular) {
    txn.success = win;
    txn.success.push_back(Op::nested(advance_marker(mk, a.tick)));
  } else {
    // Won only if the marker is below the tick or absent: two nested branches, each writing it all.
    win.push_back(Op::put(mk, a.tick));
    Txn if_absent;
    if_absent.compare.push_back(Compare::absent(mk));
    if_absent.success = win;
    Txn if_less;
    if_less.compare.push_back(Compare::value_less(mk, a.tick));
    if_less.success = win;
    if_less.failure.push_back(Op::nested(std::move(if_absent)));
    txn.success.push_back(Op::nested(std::move(if_less)));
  }
  txn.failure = {Op::get(tk), Op::get(rk), Op::get(ok)};

  batcher_.submit(std::move(txn), guard([this, a, done = std::move(done)](Expected<TxnResult> r) mutable {
                    if (!r) {
                      retry_claim(std::move(a), std::move(done), r.error());
                      return;
                    }
                    ClaimResult out;
                    out.claim.job = a.job;
                    out.claim.tick = a.tick;
                    out.claim.lease = a.lease;
                    out.claim.taken_over = a.mode == Mode::take_over || a.mode == Mode::steal;
                    bool won = false;
                    if (r->succeeded) {
                      won = true;
                      if (a.mode == Mode::catch_up) {
                        const auto& outer = r->results.empty() ? nullptr : r->results.front().txn;
                        const auto& inner = outer && !outer->results.empty() ? outer->results.front().txn : nullptr;
                        won = outer && (outer->succeeded || (inner && inner->succeeded));
                        if (!won) {
                          out.reason = "a tick at or after it was already claimed";
                        }
                      }
                      // The claim key was created by this very transaction, or (stolen) kept its
                      // creation and is now bound to this host's lease.
                      out.claim.revision = a.mode == Mode::steal ? a.claim_rev : r->revision;
                    } else if (const KeyValue* claim = first_kv(*r, 0)) {
                      if (claim->value == a.value) {
                        // This very claim: an earlier attempt went through (to another endpoint, or
                        // its answer was lost), so the retry finds it taken, by itself.
                        won = true;
                        out.claim.revision = claim->create_revision;
                      } else {
                        out.holder = string_of(parse_object(claim->value), "node");
                        out.reason = "claimed by " + out.holder;
                      }
                    } else if (const KeyValue* run = first_kv(*r, 1)) {
                      const auto record = parse_object(run->value);
                      out.holder = string_of(record, "node");
                      out.reason = "already " + string_of(record, "state") + " on " + out.holder;
                    } else if (const KeyValue* open = first_kv(*r, 2)) {
                      const auto record = parse_object(open->value);
                      out.holder = string_of(record, "node");
                      out.reason = "left " + string_of(record, "state") + " by " + out.holder + " (its host was lost)";
                    } else {
                      out.reason = "claimed and released meanwhile";
                    }
                    out.outcome = won ? Outcome::won : Outcome::lost;
                    ++(won ? stats_.won : stats_.lost);
                    done(std::move(out));
                  }));
}

void Claims::record_start(const Claim& claim, json::object fields, Done<Fence> done) {
  if (claim.revision == 0 || claim.lease == 0) {
    later(std::move(done), Expected<Fence>(Error{"cluster: not a won claim"}));
    return;
  }
  // Not only etcd's word: a host past its own lease deadline (paused, cut off) does not start even
  // if etcd has not expired the lease yet, since it is about to.
  if (!membership_.holds(claim.lease)) {
    ++stats_.fenced;
    log_->warn("cluster start fenced job={} tick={} reason={}", claim.job, claim.tick,
               log::quote("lease not held: " + membership_.reason()));
    later(std::move(done), Expected<Fence>(Fence::lost));
    return;
  }
  fields["node"] = membership_.node();
  fields["tick"] = claim.tick;
  fields["state"] = "started";
  fields["started_at"] = stamp();
  fenced_write(claim, json::serialize(fields), false, clock_.now() + settings_.claim_grace, std::move(done));
}

void Claims::record_result(const Claim& claim, json::object fields, Done<Fence> done) {
  if (claim.revision == 0 || claim.lease == 0) {
    later(std::move(done), Expected<Fence>(Error{"cluster: not a won claim"}));
    return;
  }
  fields["node"] = membership_.node();
  fields["tick"] = claim.tick;
  fields["state"] = "finished";
  fields["finished_at"] = stamp();
  fenced_write(claim, json::serialize(fields), true, clock_.now() + settings_.claim_grace, std::move(done));
}

void Claims::fenced_write(const Claim& claim, std::string value, bool final, WallTime retry_until, Done<Fence> done) {
  const std::string tk = keys_.tick(claim.job, claim.tick);
  const std::string rk = keys_.run(claim.job, claim.tick);
  Txn txn;
  // The fence: the claim key is still this incarnation (not deleted with an expired lease and made
  // again by a taker) and still bound to this host's lease.
  txn.compare = {Compare::created_at(tk, claim.revision), Compare::lease_is(tk, claim.lease)};
  txn.success.push_back(Op::put(rk, value));
  if (final) {
    txn.success.push_back(Op::del(tk));
    txn.success.push_back(Op::del(keys_.open(claim.job, claim.tick)));
  } else {
    // The open key says "started" from now on: the sweep then reports the run interrupted if its
    // host is lost, and never takes it over, whatever retention did to the run record meanwhile.
    txn.success.push_back(Op::put(keys_.open(claim.job, claim.tick), value));
  }
  txn.failure.push_back(Op::get(rk));
  batcher_.submit(
      std::move(txn),
      guard([this, claim, value, final, retry_until, done = std::move(done)](Expected<TxnResult> r) mutable {
        const std::string& job = claim.job;
        const std::string& tick = claim.tick;
        if (!r) {
          // The same record again (a retry finds its own success), while the lease is
          // held and there is time: a start whose answer was lost is not a lost tick.
          if (started_ && membership_.holds(claim.lease) && clock_.now() + settings_.sweep_interval <= retry_until) {
            ++stats_.retries;
            after_a_while(
                [this, claim, value = std::move(value), final, retry_until, done = std::move(done)]() mutable {
                  fenced_write(claim, std::move(value), final, retry_until, std::move(done));
                });
            return;
          }
          done(Error{r.error()});
          return;
        }
        if (r->succeeded) {
          done(Fence::held);
          return;
        }
        // The very record this call wrote: an earlier attempt went through.
        if (const KeyValue* run = first_kv(*r, 0); run != nullptr && run->value == value) {
          done(Fence::held);
          return;
        }
        ++stats_.fenced;
        log_->warn("cluster {} fenced job={} tick={} reason={}", final ? "result" : "start", job, tick,
                   log::quote("the claim is no longer this host's"));
        done(Fence::lost);
      }));
}

void Claims::with_notification_lease(std::function<void(Expected<LeaseId>)> then) {
  const auto age = clock_.mono_now() - notification_lease_at_;
  if (notification_lease_ != 0 && age < settings_.notification_retention / 2) {
    then(notification_lease_);
    return;
  }
  waiting_for_lease_.push_back(std::move(then));
  if (granting_) {
    return;
  }
  granting_ = true;
  const MonoTime sent = clock_.mono_now();
  etcd_.grant(std::chrono::duration_cast<std::chrono::seconds>(settings_.notification_retention),
              guard([this, sent](Expected<Lease> r) {
                granting_ = false;
                if (r) {
                  notification_lease_ = r->id;
                  notification_lease_at_ = sent;
                }
                auto waiting = std::move(waiting_for_lease_);
                waiting_for_lease_.clear();
                for (auto& w : waiting) {
                  w(r ? Expected<LeaseId>(r->id) : Expected<LeaseId>(Error{r.error()}));
                }
              }));
}

void Claims::claim_notification(const std::string& id, Done<Outcome> done) {
  if (id.empty() || id.find_first_of("/\n") != std::string::npos) {
    later(std::move(done), Expected<Outcome>(Error{"cluster: invalid notification id"}));
    return;
  }
  notification_attempt(id, std::move(done), true);
}

void Claims::notification_attempt(const std::string& id, Done<Outcome> done, bool may_retry) {
  with_notification_lease(guard([this, id, may_retry, done = std::move(done)](Expected<LeaseId> lease) mutable {
    if (!lease) {
      ++stats_.errors;
      done(Error{lease.error()});
      return;
    }
    const std::string key = keys_.notification(id);
    json::object v;
    v["node"] = membership_.node();
    v["claimed_at"] = stamp();
    v["seq"] = ++sequence_;
    const std::string value = json::serialize(v);
    Txn txn;
    txn.compare.push_back(Compare::absent(key));
    txn.success.push_back(Op::put(key, value, *lease));
    txn.failure.push_back(Op::get(key));
    batcher_.submit(std::move(txn),
                    guard([this, id, value, may_retry, done = std::move(done)](Expected<TxnResult> r) mutable {
                      if (!r) {
                        // The retention lease vanished under us (etcd restored from a snapshot, revoked
                        // by hand): once more with a fresh one.
                        if (may_retry && r.error().find("lease not found") != std::string::npos) {
                          notification_lease_ = 0;
                          notification_attempt(id, std::move(done), false);
                          return;
                        }
                        ++stats_.errors;
                        done(Error{r.error()});
                        return;
                      }
                      // Our own value already there: an earlier attempt of this call went through.
                      const KeyValue* existing = first_kv(*r, 0);
                      const bool won = r->succeeded || (existing != nullptr && existing->value == value);
                      ++(won ? stats_.won : stats_.lost);
                      done(won ? Outcome::won : Outcome::lost);
                    }));
  }));
}

void Claims::last_tick(const std::string& job, Done<std::optional<std::string>> done) {
  etcd_.range(keys_.last_tick(job), "", false, guard([done = std::move(done)](Expected<Range> r) {
                if (!r) {
                  done(Error{r.error()});
                  return;
                }
                done(r->kvs.empty() ? std::nullopt : std::optional<std::string>(r->kvs.front().value));
              }));
}

void Claims::runs(const std::string& job, std::size_t n, Done<std::vector<RunRecord>> done) {
  Op range = Op::get_prefix(keys_.runs(job));
  range.limit = static_cast<std::int64_t>(n);
  range.descending = true;
  Txn txn;
  txn.success.push_back(std::move(range));
  etcd_.txn(std::move(txn), guard([this, job, done = std::move(done)](Expected<TxnResult> r) {
              if (!r) {
                done(Error{r.error()});
                return;
              }
              std::vector<RunRecord> out;
              if (!r->results.empty()) {
                for (const auto& kv : r->results.front().kvs) {
                  RunRecord rec;
                  rec.job = job;
                  rec.tick = kv.key.substr(keys_.runs(job).size());
                  rec.fields = parse_object(kv.value);
                  rec.node = string_of(rec.fields, "node");
                  rec.state = string_of(rec.fields, "state");
                  out.push_back(std::move(rec));
                }
              }
              done(std::move(out));
            }));
}

// --- take-over sweep -----------------------------------------------------------------------------

void Claims::schedule_sweep() {
  sweep_timer_ = clock_.call_after(settings_.sweep_interval, [this] { sweep(); });
}

void Claims::sweep() {
  if (sweeping_ || !membership_.holds(membership_.lease())) {
    schedule_sweep();
    return;
  }
  sweeping_ = true;
  ++stats_.sweeps;
  // Both lists in one read-only transaction: one revision, so "open but not claimed" is exact (a
  // claim and its open key are only ever written and deleted together).
  Txn txn;
  txn.success.push_back(Op::get_prefix(keys_.opens()));
  txn.success.push_back(Op::get_prefix(keys_.ticks(), true));
  etcd_.txn(std::move(txn), guard([this](Expected<TxnResult> r) {
              sweeping_ = false;
              schedule_sweep();
              if (!r || r->results.size() != 2) {
                if (!r) {
                  log_->debug("cluster sweep failed error={}", log::quote(r.error()));
                }
                return;
              }
              std::map<std::pair<std::string, std::string>, const KeyValue*> claimed;
              for (const auto& kv : r->results[1].kvs) {
                if (auto jt = Keys::split(kv.key, keys_.ticks())) {
                  claimed.emplace(std::move(*jt), &kv);
                }
              }
              std::size_t acted = 0;
              decltype(stalled_) still;
              for (const auto& kv : r->results[0].kvs) {
                auto jt = Keys::split(kv.key, keys_.opens());
                if (!jt || handling_.count(*jt) != 0) {
                  continue;
                }
                auto c = claimed.find(*jt);
                if (c != claimed.end()) {
                  on_claimed(*jt, kv, *c->second, still, acted);
                } else {
                  on_orphan(jt->first, jt->second, kv);
                  ++acted;
                }
                if (acted >= kMaxOrphansPerSweep) {
                  break;
                }
              }
              stalled_ = std::move(still);
            }));
}

void Claims::on_claimed(const std::pair<std::string, std::string>& key, const KeyValue& open, const KeyValue& claim,
                        std::map<std::pair<std::string, std::string>, Stalled>& still, std::size_t& acted) {
  // Only claims of other hosts' leases (a host never steals from its own live claim: its start may
  // be on the way under the very lease the steal would bind) of jobs this host has, not started.
  if (claim.lease == membership_.lease() || !handlers_.runs_job || !handlers_.runs_job(key.first) ||
      string_of(parse_object(open.value), "state") != "claimed") {
    return;
  }
  const MonoTime now = clock_.mono_now();
  auto seen = stalled_.find(key);
  Stalled s{open.mod_revision, claim.create_revision, now};
  if (seen != stalled_.end() && seen->second.open_rev == s.open_rev && seen->second.claim_rev == s.claim_rev) {
    s.since = seen->second.since;
  }
  if (now - s.since < settings_.claim_grace) {
    still.emplace(key, s);
    return;
  }
  ++acted;
  handling_.insert(key);
  Attempt a;
  a.job = key.first;
  a.tick = key.second;
  a.mode = Mode::steal;
  a.open_rev = open.mod_revision;
  a.claim_rev = claim.create_revision;
  a.claim_lease = claim.lease;
  const std::string from = string_of(parse_object(open.value), "node");
  claim_tick(std::move(a), guard([this, key, from](Expected<ClaimResult> r) {
               handling_.erase(key);
               if (r && r->outcome == Outcome::won) {
                 ++stats_.taken_over;
                 ++stats_.stolen;
                 log_->warn("cluster tick taken over job={} tick={} node={} from={} reason={}", r->claim.job,
                            r->claim.tick, membership_.node(), from,
                            log::quote("claimed but not started within claim_grace"));
                 if (handlers_.taken_over) {
                   handlers_.taken_over(r->claim);
                 }
               }
             }));
}

void Claims::on_orphan(const std::string& job, const std::string& tick, const KeyValue& open) {
  const bool mine = handlers_.runs_job && handlers_.runs_job(job);
  const auto at = parse_iso8601(tick);
  const bool stale = at && clock_.now() - *at > settings_.run_retention;
  const std::string tk = keys_.tick(job, tick);
  const std::string ok = keys_.open(job, tick);
  const auto key = std::make_pair(job, tick);
  const auto record = parse_object(open.value);
  const std::string state = string_of(record, "state");

  if (state == "claimed" && mine) {
    // Claimed, never started, and its claimer's lease is gone: claim it again (one host wins).
    handling_.insert(key);
    Attempt a;
    a.job = job;
    a.tick = tick;
    a.mode = Mode::take_over;
    a.open_rev = open.mod_revision;
    claim_tick(std::move(a), guard([this, key](Expected<ClaimResult> r) {
                 handling_.erase(key);
                 if (r && r->outcome == Outcome::won) {
                   ++stats_.taken_over;
                   log_->warn("cluster tick taken over job={} tick={} node={}", r->claim.job, r->claim.tick,
                              membership_.node());
                   if (handlers_.taken_over) {
                     handlers_.taken_over(r->claim);
                   }
                 }
               }));
    return;
  }
  if (state == "started" && mine) {
    // Started, and its host's lease is gone: never run again; exactly one host reports it.
    handling_.insert(key);
    json::object rec = record;
    rec["state"] = "interrupted";
    rec["reason"] = "host_lost";
    rec["reported_by"] = membership_.node();
    rec["interrupted_at"] = stamp();
    Txn txn;
    txn.compare = {Compare::absent(tk), Compare::modified_at(ok, open.mod_revision)};
    txn.success = {Op::put(keys_.run(job, tick), json::serialize(rec)), Op::del(ok)};
    batcher_.submit(std::move(txn), guard([this, key, rec](Expected<TxnResult> r) {
                      handling_.erase(key);
                      if (!r || !r->succeeded) {
                        return;
                      }
                      ++stats_.interrupted;
                      RunRecord out;
                      out.job = key.first;
                      out.tick = key.second;
                      out.node = string_of(rec, "node");
                      out.state = "interrupted";
                      out.fields = rec;
                      log_->error("cluster run interrupted job={} tick={} node={} reason=host_lost", out.job, out.tick,
                                  out.node);
                      if (handlers_.interrupted) {
                        handlers_.interrupted(out);
                      }
                    }));
    return;
  }
  // A job no live host has (removed from the config everywhere) past retention: tidy up, only if
  // nothing changed since the sweep looked.
  if (!mine && stale) {
    Txn txn;
    txn.compare = {Compare::absent(tk), Compare::modified_at(ok, open.mod_revision)};
    txn.success = {Op::del(ok)};
    batcher_.submit(std::move(txn), [](const Expected<TxnResult>&) {});
  }
}

}  // namespace tend::cluster
