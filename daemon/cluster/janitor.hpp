#pragma once
// Retention: keeps etcd from growing without bound (docs/cluster.md, "Retention and sizing").
//
//   - run records older than run_retention go: one deleterange per job (ticks sort as time does,
//     so "before the cutoff" is one key range), every cleanup_interval;
//   - etcd's history of old revisions goes: every compaction_interval, compact to the revision
//     seen one interval earlier (so at least one interval of history stays for readers);
//   - claims go with their result (deleted in the same transaction) or with their lease;
//     notification claims with their retention lease.
//
// Every host runs it; the deletes are idempotent and a compaction already done is a no-op.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "cluster/etcd.hpp"
#include "cluster/keys.hpp"
#include "cluster/settings.hpp"
#include "util/clock.hpp"

namespace spdlog {
class logger;
}

namespace tend::cluster {

struct JanitorReport {
  std::size_t jobs = 0;       // jobs whose records were looked at
  std::int64_t deleted = 0;   // run records deleted
  Revision compacted_to = 0;  // 0: no compaction this time
};

class Janitor {
 public:
  /// `etcd` and `clock` must outlive this.
  Janitor(Etcd& etcd, Clock& clock, const Settings& settings);
  ~Janitor();
  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;

  /// Run every cleanup_interval from now on.
  void start();
  /// No more runs (one in flight still answers).
  void stop() { timer_.reset(); }
  /// One pass now (tests and the bench call it directly).
  void run_once(std::function<void(Expected<JanitorReport>)> done);

 private:
  void schedule();
  template <class F>
  auto guard(F f);

  Etcd& etcd_;
  Clock& clock_;
  Settings settings_;
  Keys keys_;
  std::shared_ptr<spdlog::logger> log_;
  bool running_ = false;
  Revision sample_ = 0;  // the revision seen at the last compaction check
  MonoTime next_compaction_{};
  std::unique_ptr<TimerHandle> timer_;
  std::unique_ptr<TimerHandle> busy_timer_;  // the answer of a run_once() that found one running
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tend::cluster
