#pragma once
// Exactly-once ticks across the cluster (docs/cluster.md, "How a tick runs once").
//
//   claim(job, tick)         in one txn, create PREFIX/ticks/JOB/TICK bound to this host's lease and
//                            PREFIX/open/JOB/TICK ("claimed", no lease), only while neither exists
//                            and the tick has no run record: one host wins, the others lose.
//   record_start(claim)      write PREFIX/runs/JOB/TICK "started" (and the open key likewise),
//                            fenced: only while the claim key is still the one this host created
//                            (same create_revision) under this host's lease. A host that was paused
//                            or cut off past its TTL gets Fence::lost and must not start the run.
//   record_result(claim)     write the final record, delete the claim and open keys; fenced alike.
//
// A claim whose host's lease ended vanishes with the lease, and its open key stays behind: "open
// but unclaimed" is exactly "its host was lost". Every host's sweep (every sweep_interval) looks for
// such ticks: one still "claimed" (never started) is claimed again, one host wins and hears
// taken_over(); one "started" is not run again: exactly one host rewrites its record to
// "interrupted" (reason host_lost) and hears interrupted().
//
// A claim can also stay "claimed" under a lease that lives on: its host was starved of CPU and
// judged its own lease lost, or its start record's answer never came. The sweep steals such a
// claim once it has seen it unchanged for claim_grace (ttl/2): the open key unmodified, the claim
// key the same incarnation, rebound to the stealer's lease in one compare-and-swap; the first
// claimer's fenced start then fails on the lease. So a tick whose claimer dies, hangs or gives up
// before starting is run by another host within claim_grace plus two sweeps of its claim, less
// than one lease_ttl, without waiting for etcd to expire the lease.
//
// Failed claims (etcd unreachable, this host not joined for a moment) and failed fenced writes are
// retried with the same value until claim_grace after the tick: a retry that finds its own earlier
// success wins, and a tick is not lost to one slow answer.
//
// Everything is asynchronous on the loop; `done` runs exactly once, never before the call returns.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/batch.hpp"
#include "cluster/etcd.hpp"
#include "cluster/keys.hpp"
#include "cluster/membership.hpp"
#include "cluster/settings.hpp"
#include "util/clock.hpp"

namespace spdlog {
class logger;
}

namespace tend::cluster {

/// A won claim: what the fenced writes need.
struct Claim {
  std::string job;
  std::string tick;         // tick_id(): "2026-11-21T10:00:03Z"
  LeaseId lease = 0;        // this host's session lease when it claimed
  Revision revision = 0;    // create_revision of the claim key: this very claim, not a later one
  bool taken_over = false;  // won by the sweep from a host whose lease ended before it started
};

enum class Outcome { won, lost };
const char* to_string(Outcome o);

struct ClaimResult {
  Outcome outcome = Outcome::lost;
  Claim claim;         // when won
  std::string holder;  // when lost: the node that has (or ran) it, "" when unknown
  std::string reason;  // when lost: "claimed by web-2", "already started on web-2", ...
};

/// A fenced write: done, or refused because the claim is no longer this host's.
enum class Fence { held, lost };
const char* to_string(Fence f);

/// One run as the cluster recorded it.
struct RunRecord {
  std::string job;
  std::string tick;
  std::string node;            // the host that ran (or claimed) it
  std::string state;           // started | finished | interrupted
  boost::json::object fields;  // the whole record (what record_start/record_result added included)
};

struct ClaimStats {
  std::uint64_t won = 0;
  std::uint64_t lost = 0;
  std::uint64_t errors = 0;
  std::uint64_t fenced = 0;       // record_start/record_result refused
  std::uint64_t taken_over = 0;   // ticks this host took over (from a lost host, or stolen)
  std::uint64_t stolen = 0;       // of those, claims left unstarted past claim_grace by a live lease
  std::uint64_t retries = 0;      // claims and fenced writes sent again after an error
  std::uint64_t interrupted = 0;  // runs this host reported interrupted
  std::uint64_t sweeps = 0;
};

class Claims {
 public:
  template <class T>
  using Done = std::function<void(Expected<T>)>;

  struct Handlers {
    /// Whether this host has job `job` (and may take over its ticks). Default: no job.
    std::function<bool(const std::string& job)> runs_job;
    /// A dead host's unstarted tick is now this host's: start it (record_start) or record it skipped.
    std::function<void(const Claim& claim)> taken_over;
    /// A run that had started on `node` lost its host; exactly one host of the cluster hears it.
    std::function<void(const RunRecord& run)> interrupted;
  };

  /// `etcd`, `clock` and `membership` must outlive this.
  Claims(Etcd& etcd, Clock& clock, Membership& membership, const Settings& settings);
  ~Claims();
  Claims(const Claims&) = delete;
  Claims& operator=(const Claims&) = delete;

  void set_handlers(Handlers handlers);
  /// Start the take-over sweep (every sweep_interval while joined).
  void start();

  /// Race for `job`'s tick at `tick`. An error (etcd unreachable, not joined) means: do not run it.
  /// A tick older than run_retention/2 is lost at once ("too old"): missed ticks are catch-up's.
  void claim(const std::string& job, WallTime tick, Done<ClaimResult> done);
  /// Claim a missed tick for catch-up: won only if no tick of `job` at or after `tick` was ever
  /// claimed in the cluster (PREFIX/jobs/JOB/last_tick), so catch-up runs once per job.
  void claim_catch_up(const std::string& job, WallTime tick, Done<ClaimResult> done);
  /// Record that the run of `claim` starts (state "started" plus `fields`), fenced.
  void record_start(const Claim& claim, boost::json::object fields, Done<Fence> done);
  /// Record the run's end (state "finished" plus `fields`: result, exit, duration...) and release
  /// the claim, fenced.
  void record_result(const Claim& claim, boost::json::object fields, Done<Fence> done);
  /// Race for notification `id` (the same id on every host for the same notification); the claim
  /// lasts notification_retention/2 .. notification_retention.
  void claim_notification(const std::string& id, Done<Outcome> done);

  /// The latest tick of `job` claimed anywhere in the cluster, if any.
  void last_tick(const std::string& job, Done<std::optional<std::string>> done);
  /// The newest `n` run records of `job` (newest first).
  void runs(const std::string& job, std::size_t n, Done<std::vector<RunRecord>> done);

  [[nodiscard]] const ClaimStats& stats() const { return stats_; }
  /// Write transactions sent to etcd, and the claims and records they carried.
  [[nodiscard]] const Batcher& batcher() const { return batcher_; }

 private:
  enum class Mode { regular, catch_up, take_over, steal };
  /// One claim transaction and its retries (which keep `value`: a retry finds its own success).
  struct Attempt {
    std::string job;
    std::string tick;
    Mode mode = Mode::regular;
    Revision open_rev = 0;                // take_over, steal: the open key as the sweep saw it
    Revision claim_rev = 0;               // steal: create_revision of the claim key being stolen
    LeaseId claim_lease = 0;              // steal: the lease it is bound to
    std::optional<WallTime> retry_until;  // errors are retried until then (none: not retried)
    LeaseId lease = 0;                    // of the first attempt under the current lease
    std::string value;
  };
  void claim_tick(Attempt a, Done<ClaimResult> done);
  void retry_claim(Attempt a, Done<ClaimResult> done, const std::string& error);
  void fenced_write(const Claim& claim, std::string value, bool final, WallTime retry_until, Done<Fence> done);
  /// Call `f` after sweep_interval on the loop (owned here: gone with this object).
  void after_a_while(std::function<void()> f);
  void notification_attempt(const std::string& id, Done<Outcome> done, bool may_retry);
  void with_notification_lease(std::function<void(Expected<LeaseId>)> then);
  void sweep();
  void on_orphan(const std::string& job, const std::string& tick, const KeyValue& open);
  struct Stalled;
  /// An open tick whose claim key exists: steal it once it stayed unstarted for claim_grace.
  void on_claimed(const std::pair<std::string, std::string>& key, const KeyValue& open, const KeyValue& claim,
                  std::map<std::pair<std::string, std::string>, Stalled>& still, std::size_t& acted);
  void schedule_sweep();
  template <class F>
  auto guard(F f);
  template <class T>
  void later(Done<T> done, Expected<T> value);
  [[nodiscard]] std::string stamp() const;

  Etcd& etcd_;
  Clock& clock_;
  Membership& membership_;
  Settings settings_;
  Keys keys_;
  std::shared_ptr<spdlog::logger> log_;
  Handlers handlers_;
  Batcher batcher_;  // every write transaction goes through it: one etcd txn per loop turn
  ClaimStats stats_;
  std::uint64_t sequence_ = 0;  // makes every claim value unique (see claim_tick)

  bool sweeping_ = false;
  bool started_ = false;
  std::set<std::pair<std::string, std::string>> handling_;  // orphans being acted on
  /// Claimed-but-unstarted ticks the sweep saw, and since when unchanged (steal after claim_grace).
  struct Stalled {
    Revision open_rev = 0;
    Revision claim_rev = 0;
    MonoTime since{};
  };
  std::map<std::pair<std::string, std::string>, Stalled> stalled_;
  std::unique_ptr<TimerHandle> sweep_timer_;

  LeaseId notification_lease_ = 0;
  MonoTime notification_lease_at_{};
  bool granting_ = false;
  std::vector<std::function<void(Expected<LeaseId>)>> waiting_for_lease_;

  std::uint64_t next_timer_ = 0;
  std::map<std::uint64_t, std::unique_ptr<TimerHandle>> deferred_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tend::cluster
