#pragma once
// Internal: the spawner threads. The loop submits a Spec (with the environment it read from the
// daemon); a thread resolves the user and the program, starts the child (start.hpp) and posts the
// started child, or the error, back to the loop. User lookups (NSS may hang on LDAP or sssd), PATH
// lookups and the fork itself thus never run on the loop. Two threads take from one queue, so a
// burst of starts (100 jobs due in the same second) overlaps on two cores, and one start stuck in
// an NSS lookup does not hold up the rest.

#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process/launcher.hpp"
#include "process/prepare.hpp"
#include "process/start.hpp"
#include "util/expected.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::process::detail {

/// The soft RLIMIT_NOFILE children get (set_child_nofile_limit), if one was set.
std::optional<rlim_t> child_nofile_limit();

/// One submitted spawn, shared by the loop and the spawner thread.
class Ticket {
 public:
  using Deliver = std::function<void(Expected<Started>)>;
  Ticket(Spec spec, DaemonEnv env, Deliver deliver)
      : spec_(std::move(spec)), env_(std::move(env)), deliver_(std::move(deliver)) {}

  /// On the loop: make sure the process never starts. True when that worked (the spawner had not
  /// begun to start it; nothing will be delivered); false when it is starting or started.
  bool try_cancel();
  /// On the loop: the owner is gone; if the process starts anyway, SIGKILL it at once.
  void abandon() { abandoned_.store(true); }

 private:
  friend class Spawner;
  enum State : int { queued, starting, cancelled };
  std::atomic<int> state_{queued};
  std::atomic<bool> abandoned_{false};
  const Spec spec_;
  const DaemonEnv env_;
  Deliver deliver_;  // called on the loop only
};

/// Owns the spawner threads.
class Spawner {
 public:
  /// How many threads take starts from the queue: two where the machine has two cores or more.
  static unsigned default_threads();

  /// Results are posted to `io`, which must outlive the Spawner. The threads start with the first
  /// submit().
  explicit Spawner(boost::asio::io_context& io, unsigned threads = default_threads());
  ~Spawner() { shutdown(); }
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  /// Queue a spawn. `deliver` runs on the loop exactly once with the started child or the error
  /// (no spawner thread could be started: the next submit tries again), unless the ticket was
  /// cancelled first or the Spawner shut down.
  std::shared_ptr<Ticket> submit(Spec spec, DaemonEnv env, Ticket::Deliver deliver);

  /// Stop: queued spawns never start; children started but not yet delivered are SIGKILLed and
  /// reaped; the threads are joined, or left behind (they then only clean up after themselves) when
  /// one does not finish its current start within a bound (an NSS lookup that hangs). Idempotent.
  void shutdown();

 private:
  struct Shared;
  struct Launch;
  static void run(const std::shared_ptr<Shared>& shared, const ReportPage& page);
  /// Start the threads missing; the error when none runs.
  std::optional<std::string> start_threads();

  std::shared_ptr<Shared> shared_;
  unsigned wanted_;
  std::vector<std::thread> threads_;
};

}  // namespace tend::process::detail
