#include "cluster/janitor.hpp"

#include <string>
#include <vector>

#include "util/log.hpp"

namespace tend::cluster {
namespace {

using std::chrono::milliseconds;

// Below etcd's default --max-txn-ops (128).
constexpr std::size_t kOpsPerTxn = 100;

}  // namespace

Janitor::Janitor(Etcd& etcd, Clock& clock, const Settings& settings)
    : etcd_(etcd), clock_(clock), settings_(resolve(settings)), keys_(settings_.prefix), log_(log::get("cluster")) {}

Janitor::~Janitor() = default;

template <class F>
auto Janitor::guard(F f) {
  return [weak = std::weak_ptr<int>(alive_), f = std::move(f)](auto&&... args) mutable {
    if (weak.lock()) {
      f(std::forward<decltype(args)>(args)...);
    }
  };
}

void Janitor::start() {
  next_compaction_ = clock_.mono_now();
  schedule();
}

void Janitor::schedule() {
  timer_ = clock_.call_after(settings_.cleanup_interval, [this] {
    run_once([this](const Expected<JanitorReport>& r) {
      if (!r) {
        log_->warn("cluster cleanup failed error={}", log::quote(r.error()));
      } else if (r->deleted > 0 || r->compacted_to > 0) {
        log_->info("cluster cleanup jobs={} deleted={} compacted_to={}", r->jobs, r->deleted, r->compacted_to);
      }
      schedule();
    });
  });
}

void Janitor::run_once(std::function<void(Expected<JanitorReport>)> done) {
  if (running_) {
    busy_timer_ = clock_.call_after(milliseconds(0), [done = std::move(done)] { done(JanitorReport{}); });
    return;
  }
  running_ = true;
  // The markers name every job that ever ran in the cluster, also those no host has any more.
  etcd_.range(
      keys_.jobs(), prefix_end(keys_.jobs()), true, guard([this, done = std::move(done)](Expected<Range> r) mutable {
        if (!r) {
          running_ = false;
          done(Error{r.error()});
          return;
        }
        const Revision now_rev = r->revision;
        const std::string cutoff = tick_id(clock_.now() - settings_.run_retention);
        std::vector<Txn> batches;
        std::size_t jobs = 0;
        for (const auto& kv : r->kvs) {
          auto job = keys_.job_of_marker(kv.key);
          if (!job) {
            continue;
          }
          if (batches.empty() || batches.back().success.size() == kOpsPerTxn) {
            batches.emplace_back();
          }
          const std::string from = keys_.runs(*job);
          batches.back().success.push_back(Op::del_range(from, from + cutoff));
          ++jobs;
        }
        struct Pass {
          JanitorReport report;
          std::size_t waiting = 0;
          std::string error;
          std::function<void(Expected<JanitorReport>)> done;
        };
        auto pass = std::make_shared<Pass>();
        pass->report.jobs = jobs;
        pass->waiting = batches.size() + 1;  // + the compaction step
        pass->done = std::move(done);
        auto finish_one = [this, pass] {
          if (--pass->waiting != 0) {
            return;
          }
          running_ = false;
          auto d = std::move(pass->done);
          if (!pass->error.empty()) {
            d(Error{pass->error});
          } else {
            d(pass->report);
          }
        };
        for (auto& batch : batches) {
          etcd_.txn(std::move(batch), guard([pass, finish_one](Expected<TxnResult> t) {
                      if (!t) {
                        pass->error = t.error();
                      } else {
                        for (const auto& op : t->results) {
                          pass->report.deleted += op.deleted;
                        }
                      }
                      finish_one();
                    }));
        }
        const bool due = settings_.compaction_interval > milliseconds(0) && clock_.mono_now() >= next_compaction_;
        if (!due) {
          finish_one();
          return;
        }
        next_compaction_ = clock_.mono_now() + settings_.compaction_interval;
        const Revision target = sample_;
        sample_ = now_rev;
        if (target == 0) {
          finish_one();  // the first sample: compact to it one interval from now
          return;
        }
        etcd_.compact(target, guard([pass, finish_one, target](Expected<bool> c) {
                        if (!c) {
                          pass->error = c.error();
                        } else if (*c) {
                          pass->report.compacted_to = target;
                        }
                        finish_one();
                      }));
      }));
}

}  // namespace tend::cluster
