#include "cluster/batch.hpp"

#include <algorithm>
#include <utility>

namespace tend::cluster {
namespace {

// Every key a txn writes (puts and deletes, in both branches, nested txns included). Range deletes
// count by their first key: this module deletes single keys only, through the batcher.
void written(const std::vector<Op>& ops, std::set<std::string>& out) {
  for (const auto& op : ops) {
    if (op.kind == Op::Kind::put || op.kind == Op::Kind::del) {
      out.insert(op.key);
    } else if (op.kind == Op::Kind::txn && op.txn) {
      written(op.txn->success, out);
      written(op.txn->failure, out);
    }
  }
}

bool overlaps(const std::set<std::string>& keys, const std::multiset<std::string>& busy) {
  return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return busy.count(k) != 0; });
}

bool overlaps(const std::set<std::string>& keys, const std::set<std::string>& busy) {
  return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return busy.count(k) != 0; });
}

}  // namespace

Batcher::Batcher(Etcd& etcd, Clock& clock, std::size_t max_per_batch, std::size_t max_in_flight)
    : etcd_(etcd),
      clock_(clock),
      max_per_batch_(std::max<std::size_t>(1, max_per_batch)),
      max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {}

Batcher::~Batcher() = default;

void Batcher::submit(Txn txn, Etcd::Done<TxnResult> done) {
  Item item;
  written(txn.success, item.keys);
  written(txn.failure, item.keys);
  item.txn = std::move(txn);
  item.done = std::move(done);
  queue_.push_back(std::move(item));
  schedule();
}

void Batcher::schedule() {
  if (!timer_) {
    timer_ = clock_.call_after(std::chrono::milliseconds(0), [this] {
      auto self = std::move(timer_);  // the next submit schedules a new turn
      flush();
    });
  }
}

void Batcher::flush() {
  while (!queue_.empty() && in_flight_ < max_in_flight_) {
    std::vector<Item> batch;
    std::set<std::string> batch_keys;
    std::set<std::string> waiting_keys;  // keys of items left in the queue: later ones must not pass
    std::deque<Item> rest;
    for (auto& item : queue_) {
      const bool fits = batch.size() < max_per_batch_ && !overlaps(item.keys, in_flight_keys_) &&
                        !overlaps(item.keys, batch_keys) && !overlaps(item.keys, waiting_keys);
      if (fits) {
        batch_keys.insert(item.keys.begin(), item.keys.end());
        batch.push_back(std::move(item));
      } else {
        waiting_keys.insert(item.keys.begin(), item.keys.end());
        rest.push_back(std::move(item));
      }
    }
    queue_ = std::move(rest);
    if (batch.empty()) {
      return;  // all wait for keys in flight: the answers bring the next flush
    }
    send(std::move(batch));
  }
}

void Batcher::send(std::vector<Item> batch) {
  ++in_flight_;
  ++sent_;
  carried_ += batch.size();
  for (const auto& item : batch) {
    in_flight_keys_.insert(item.keys.begin(), item.keys.end());
  }
  auto shared = std::make_shared<std::vector<Item>>(std::move(batch));
  auto finish = [this, weak = std::weak_ptr<int>(alive_), shared](Expected<TxnResult> r) {
    if (!weak.lock()) {
      return;
    }
    --in_flight_;
    for (const auto& item : *shared) {
      for (const auto& k : item.keys) {
        in_flight_keys_.erase(in_flight_keys_.find(k));
      }
    }
    if (!queue_.empty()) {
      schedule();
    }
    // Answer after the bookkeeping: a callback may submit again (record_result after a start).
    for (std::size_t i = 0; i < shared->size(); ++i) {
      auto& item = (*shared)[i];
      if (!r) {
        item.done(Error{r.error()});
      } else if (shared->size() == 1) {
        item.done(*r);
      } else if (i < r->results.size() && r->results[i].txn) {
        TxnResult mine = *r->results[i].txn;
        mine.revision = r->revision;  // nested headers are empty: the batch's revision is theirs
        item.done(std::move(mine));
      } else {
        item.done(Error{"etcd: malformed answer (batch)"});
      }
    }
  };
  if (shared->size() == 1) {
    etcd_.txn(shared->front().txn, std::move(finish));  // alone: no nesting
    return;
  }
  Txn outer;
  outer.success.reserve(shared->size());
  for (const auto& item : *shared) {
    outer.success.push_back(Op::nested(item.txn));
  }
  etcd_.txn(std::move(outer), std::move(finish));
}

}  // namespace tend::cluster
