#pragma once
// Internal: reaping. Every exited child of the daemon is reaped on SIGCHLD with waitpid(-1, WNOHANG);
// a process-wide pid table routes each status to the launcher that forked it, and unknown pids
// (orphans reparented to us when we are PID 1 or a subreaper) are just reaped.

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <mutex>

namespace boost::asio {
class io_context;
}

namespace tend::process::detail {

/// Where the wait status of one pid goes: `deliver(status)` is posted to `executor`.
struct ReapEntry {
  boost::asio::any_io_executor executor;
  std::function<void(int status)> deliver;
};

/// Lock the pid table. Hold it across fork() so no reaper on another thread can reap the new pid
/// before it is registered.
[[nodiscard]] std::unique_lock<std::mutex> lock_pid_table();
/// Register `pid` while holding the lock from lock_pid_table().
void register_pid(const std::unique_lock<std::mutex>& held, pid_t pid, ReapEntry entry);
/// Forget `pid`: its exit will still be reaped, and then dropped. False when it was no longer
/// registered (already reaped, its status on the way to the owner).
bool unregister_pid(pid_t pid);
/// Reap every exited child without blocking and post each status to its owner.
void reap_exited();

/// Calls reap_exited() on every SIGCHLD delivered to an io_context, until destroyed.
class SigchldReaper {
 public:
  /// Start listening on `io`; a failure to install the handler is returned in `error`.
  SigchldReaper(boost::asio::io_context& io, std::string& error);
  ~SigchldReaper();
  SigchldReaper(const SigchldReaper&) = delete;
  SigchldReaper& operator=(const SigchldReaper&) = delete;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tend::process::detail
