#pragma once
// FAKE etcd for virtual-time tests of the membership state machine: every call waits in a queue
// until the test answers it (or fails it), so a test decides exactly when etcd says what. The real
// gateway, and Membership and Claims against real etcd, are tested in test_cluster's [etcd] cases.

#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include "cluster/etcd.hpp"

namespace tend::testing {

class FakeEtcd final : public cluster::Etcd {
 public:
  template <class T>
  struct Pending {
    std::string what;  // "grant", "keepalive 7", "txn", "revoke 7", ...
    cluster::Txn txn;  // for txn
    cluster::LeaseId lease = 0;
    Done<T> done;
  };

  void txn(cluster::Txn t, Done<cluster::TxnResult> done) override {
    txns.push_back({"txn", std::move(t), 0, std::move(done)});
  }
  void range(std::string key, std::string, bool, Done<cluster::Range> done) override {
    ranges.push_back({"range " + key, {}, 0, std::move(done)});
  }
  void put(std::string key, std::string, cluster::LeaseId lease, Done<cluster::Revision> done) override {
    puts.push_back({"put " + key, {}, lease, std::move(done)});
  }
  void del(std::string key, std::string, Done<std::int64_t> done) override {
    dels.push_back({"del " + key, {}, 0, std::move(done)});
  }
  void grant(std::chrono::seconds ttl, Done<cluster::Lease> done) override {
    grants.push_back({"grant " + std::to_string(ttl.count()), {}, 0, std::move(done)});
  }
  void keepalive(cluster::LeaseId lease, Done<std::optional<std::chrono::seconds>> done) override {
    keepalives.push_back({"keepalive", {}, lease, std::move(done)});
  }
  void time_to_live(cluster::LeaseId lease, Done<std::optional<std::chrono::seconds>> done) override {
    ttls.push_back({"timetolive", {}, lease, std::move(done)});
  }
  void revoke(cluster::LeaseId lease, Done<bool> done) override {
    revokes.push_back({"revoke", {}, lease, std::move(done)});
  }
  void compact(cluster::Revision, Done<bool> done) override { compacts.push_back({"compact", {}, 0, std::move(done)}); }

  /// Take the oldest pending call of a queue (the test then answers through its `done`).
  template <class T>
  static Pending<T> take(std::deque<Pending<T>>& q) {
    auto p = std::move(q.front());
    q.pop_front();
    return p;
  }

  std::deque<Pending<cluster::TxnResult>> txns;
  std::deque<Pending<cluster::Range>> ranges;
  std::deque<Pending<cluster::Revision>> puts;
  std::deque<Pending<std::int64_t>> dels;
  std::deque<Pending<cluster::Lease>> grants;
  std::deque<Pending<std::optional<std::chrono::seconds>>> keepalives;
  std::deque<Pending<std::optional<std::chrono::seconds>>> ttls;
  std::deque<Pending<bool>> revokes;
  std::deque<Pending<bool>> compacts;
};

}  // namespace tend::testing
