#include "process/spawner.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <csignal>

extern char** environ;

namespace tend::process {
namespace {

// Set once by main before any launcher starts a child; read by the spawner threads.
std::atomic<bool> nofile_set{false};
std::atomic<rlim_t> nofile_soft{0};

}  // namespace

void set_child_nofile_limit(rlim_t soft) {
  nofile_soft.store(soft);
  nofile_set.store(true);
}

namespace detail {
namespace {

// ThreadSanitizer does not support vfork children. AddressSanitizer does (its vfork interceptor,
// __asan_handle_vfork in GCC 12's libasan, unpoisons the stack the child used), and the ASan build
// must take it: with fork, the child allocates (asio's notify_fork) in a copy of a process whose
// other threads may hold the sanitizer allocator's lock, GCC 12's libasan takes no such lock around
// fork, and a child stuck there before exec stalled every later start of its spawner thread
// (integration.test_cluster: 16 runs in a row never ended on one host).
#if defined(__SANITIZE_THREAD__)
constexpr bool kMayShareMemory = false;
#else
constexpr bool kMayShareMemory = true;
#endif

// How long shutdown waits for a start in progress (an NSS lookup, a child stuck before exec) before
// leaving the thread behind.
constexpr std::chrono::seconds kJoinBound{2};

}  // namespace

std::optional<rlim_t> child_nofile_limit() {
  if (!nofile_set.load()) {
    return std::nullopt;
  }
  return nofile_soft.load();
}

bool Ticket::try_cancel() {
  int expected = queued;
  return state_.compare_exchange_strong(expected, cancelled) || expected == cancelled;
}

/// A started child (or the error) on its way to the loop: whoever takes it first, the loop's handler
/// or shutdown(), owns it.
struct Spawner::Launch {
  std::optional<Expected<Started>> result;
};

struct Spawner::Shared {
  explicit Shared(boost::asio::io_context& context) : io(context) {}

  boost::asio::io_context& io;  // posted to under `mutex` while !stopping, never after
  std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable exited_cv;
  std::deque<std::shared_ptr<Ticket>> queue;
  std::vector<std::shared_ptr<Launch>> in_flight;  // posted, not yet taken by the loop
  bool stopping = false;
  unsigned running = 0;  // threads that have not left run()
};

unsigned Spawner::default_threads() { return std::thread::hardware_concurrency() >= 2 ? 2 : 1; }

Spawner::Spawner(boost::asio::io_context& io, unsigned threads)
    : shared_(std::make_shared<Shared>(io)), wanted_(std::max(1U, threads)) {}

std::optional<std::string> Spawner::start_threads() {
  // Every signal is blocked on the spawner threads, before they exist (a new thread inherits the
  // mask): no handler of the daemon ever runs there, nor in a child between fork and exec, until the
  // child has reset them to defaults.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  std::optional<std::string> error;
  while (threads_.size() < wanted_ && !error) {
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      ++shared_->running;
    }
    try {
      // Each thread's own report page, mapped here so a failed mmap fails the start.
      threads_.emplace_back([shared = shared_, page = std::make_shared<ReportPage>()] { run(shared, *page); });
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      --shared_->running;
      error = std::string("cannot start a spawner thread: ") + e.what();
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return threads_.empty() ? error : std::nullopt;  // one thread is enough to go on
}

std::shared_ptr<Ticket> Spawner::submit(Spec spec, DaemonEnv env, Ticket::Deliver deliver) {
  auto ticket = std::make_shared<Ticket>(std::move(spec), std::move(env), std::move(deliver));
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (shared_->stopping) {
      ticket->state_.store(Ticket::cancelled);
      return ticket;
    }
  }
  // The threads start with the first child: a daemon of probes alone never has them (issue 14).
  if (threads_.size() < wanted_) {
    if (auto error = start_threads()) {
      ticket->state_.store(Ticket::starting);  // not cancellable: its error is on the way
      boost::asio::post(shared_->io, [shared = shared_, ticket, error = *error] {
        {
          std::lock_guard<std::mutex> lock(shared->mutex);
          if (shared->stopping) {
            return;  // shut down since: nothing is delivered
          }
        }
        ticket->deliver_(Error{error});
      });
      return ticket;
    }
  }
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->queue.push_back(ticket);
  }
  shared_->wake.notify_one();
  return ticket;
}

void Spawner::run(const std::shared_ptr<Shared>& shared, const ReportPage& page) {
  StartOptions options;
  options.share_memory = kMayShareMemory;
  options.close_range_cloexec = have_close_range_cloexec();
  // The daemon's own account (HOME, USER, LOGNAME of children without `user`), looked up once.
  std::optional<UserInfo> own;
  for (;;) {
    std::shared_ptr<Ticket> ticket;
    {
      std::unique_lock<std::mutex> lock(shared->mutex);
      shared->wake.wait(lock, [&] { return shared->stopping || !shared->queue.empty(); });
      if (shared->stopping) {
        break;
      }
      ticket = std::move(shared->queue.front());
      shared->queue.pop_front();
    }
    if (ticket->state_.load() != Ticket::queued) {
      continue;  // cancelled while queued
    }
    if (!own) {
      own = account_of(::geteuid());
    }
    auto prepared = prepare(ticket->spec_, ticket->env_, own ? &*own : nullptr);
    int expected = Ticket::queued;
    if (!ticket->state_.compare_exchange_strong(expected, Ticket::starting)) {
      continue;  // cancelled during the lookups: it never starts
    }
    options.nofile = child_nofile_limit();
    auto launch = std::make_shared<Launch>();
    launch->result = prepared ? start(*prepared, options, page.report()) : Error{prepared.error()};
    if (*launch->result && ticket->abandoned_.load()) {
      // Its owner is gone: the process goes as soon as it exists. The loop still reaps it.
      ::kill(-(*launch->result)->pid(), SIGKILL);
    }
    std::lock_guard<std::mutex> lock(shared->mutex);
    if (shared->stopping) {
      continue;  // shutdown has run: `launch` dies here, killing and reaping what it holds
    }
    shared->in_flight.push_back(launch);
    boost::asio::post(shared->io, [shared, ticket, launch] {
      std::optional<Expected<Started>> result;
      {
        std::lock_guard<std::mutex> taken(shared->mutex);
        auto it = std::find(shared->in_flight.begin(), shared->in_flight.end(), launch);
        if (it == shared->in_flight.end()) {
          return;  // shutdown took it
        }
        shared->in_flight.erase(it);
        result = std::move(launch->result);
      }
      ticket->deliver_(std::move(*result));
    });
  }
  std::lock_guard<std::mutex> lock(shared->mutex);
  --shared->running;
  shared->exited_cv.notify_all();
}

void Spawner::shutdown() {
  std::vector<std::shared_ptr<Launch>> posted;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (shared_->stopping) {
      return;
    }
    shared_->stopping = true;
    for (auto& ticket : shared_->queue) {
      ticket->state_.store(Ticket::cancelled);
    }
    shared_->queue.clear();
    posted.swap(shared_->in_flight);
  }
  shared_->wake.notify_all();
  // Posted but not yet run on the loop: their handlers will find nothing to take.
  for (auto& launch : posted) {
    launch->result.reset();  // Started's destructor: SIGKILL the group, reap
  }
  bool exited = false;
  {
    std::unique_lock<std::mutex> lock(shared_->mutex);
    exited = shared_->exited_cv.wait_for(lock, kJoinBound, [&] { return shared_->running == 0; });
  }
  for (auto& thread : threads_) {
    if (exited) {
      thread.join();
    } else {
      // One is stuck in a start; each holds `shared_` and posts nothing once stopping is set.
      thread.detach();
    }
  }
  threads_.clear();
}

}  // namespace detail
}  // namespace tend::process
