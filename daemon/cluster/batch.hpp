#pragma once
// Coalesces write transactions into one etcd transaction. Each submitted txn becomes a nested txn
// of an outer one that has no compares of its own, so each still holds or fails on its own compares
// (etcd >= 3.3), but a batch costs etcd one raft entry and one fsync on each member instead of one
// per txn. At 100 jobs firing every second on 3 hosts that is ~10 proposals a second instead of
// ~500 (bench/README.md, "Cluster").
//
// Batches form per loop turn: what is submitted while handlers run goes out together on the next
// turn. etcd refuses a txn that writes one key twice (even in sibling nested txns), so a txn that
// writes a key of another txn in the batch, or of one still in flight, waits for a later batch:
// txns touching the same key are applied in the order they were submitted.

#include <cstddef>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/etcd.hpp"
#include "util/clock.hpp"

namespace tend::cluster {

class Batcher {
 public:
  /// `etcd` and `clock` must outlive this. At most `max_per_batch` txns go in one (etcd's default
  /// --max-txn-ops is 128 operations per branch) and `max_in_flight` batches are in flight at once.
  Batcher(Etcd& etcd, Clock& clock, std::size_t max_per_batch = 64, std::size_t max_in_flight = 4);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Queue `txn`; `done` gets its own result (revision: the batch's), or the batch's error.
  void submit(Txn txn, Etcd::Done<TxnResult> done);

  /// Transactions sent to etcd so far (batches and lone txns), and txns carried in them.
  [[nodiscard]] std::size_t sent() const { return sent_; }
  [[nodiscard]] std::size_t carried() const { return carried_; }

 private:
  struct Item {
    Txn txn;
    Etcd::Done<TxnResult> done;
    std::set<std::string> keys;  // every key it writes or deletes, nested txns included
  };
  void schedule();
  void flush();
  void send(std::vector<Item> batch);

  Etcd& etcd_;
  Clock& clock_;
  std::size_t max_per_batch_;
  std::size_t max_in_flight_;
  std::deque<Item> queue_;
  std::multiset<std::string> in_flight_keys_;
  std::size_t in_flight_ = 0;
  std::size_t sent_ = 0;
  std::size_t carried_ = 0;
  std::unique_ptr<TimerHandle> timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tend::cluster
