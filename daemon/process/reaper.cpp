#include "process/reaper.hpp"

#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <csignal>
#include <string>
#include <unordered_map>
#include <utility>

namespace tend::process::detail {
namespace {

// Process-wide because waitpid(-1) reaps any child: with two launchers (or two io_contexts) the one
// that catches SIGCHLD first must still hand each status to the launcher that owns the pid.
struct PidTable {
  std::mutex mutex;
  std::unordered_map<pid_t, ReapEntry> entries;
};

PidTable& table() {
  static PidTable* t = new PidTable;  // leaked on purpose: children may be reaped during static destruction
  return *t;
}

}  // namespace

std::unique_lock<std::mutex> lock_pid_table() { return std::unique_lock<std::mutex>(table().mutex); }

void register_pid(const std::unique_lock<std::mutex>& held, pid_t pid, ReapEntry entry) {
  (void)held;  // the parameter documents (and forces) that the caller holds the lock
  table().entries.insert_or_assign(pid, std::move(entry));
}

bool unregister_pid(pid_t pid) {
  std::lock_guard<std::mutex> lock(table().mutex);
  return table().entries.erase(pid) > 0;
}

void reap_exited() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) {
      continue;
    }
    if (pid <= 0) {
      return;  // 0: children remain but none has exited; ECHILD: no children at all
    }
    // Post under the lock: once unregister_pid() returns, nobody posts to that owner's executor any
    // more, so an owner may unregister and then let its io_context go.
    std::lock_guard<std::mutex> lock(table().mutex);
    auto it = table().entries.find(pid);
    if (it == table().entries.end()) {
      continue;  // an orphan reparented to us, or a child whose owner gave up on it
    }
    ReapEntry entry = std::move(it->second);
    table().entries.erase(it);
    boost::asio::post(entry.executor, [deliver = std::move(entry.deliver), status] { deliver(status); });
  }
}

struct SigchldReaper::Impl {
  explicit Impl(boost::asio::io_context& io) : signals(io) {}

  static void wait(const std::shared_ptr<Impl>& impl) {
    // The handler holds only a weak reference: a completion already queued when the reaper is
    // destroyed must find it gone rather than touch freed memory.
    std::weak_ptr<Impl> weak = impl;
    impl->signals.async_wait([weak](const boost::system::error_code& ec, int /*signal*/) {
      auto self = weak.lock();
      if (!self || ec) {
        return;  // cancelled: the launcher is going away and reaps its own children
      }
      // One SIGCHLD may stand for many exits (signals coalesce), hence the loop in reap_exited().
      reap_exited();
      wait(self);
    });
  }

  boost::asio::signal_set signals;
};

SigchldReaper::SigchldReaper(boost::asio::io_context& io, std::string& error) : impl_(std::make_shared<Impl>(io)) {
  boost::system::error_code ec;
  impl_->signals.add(SIGCHLD, ec);
  if (ec) {
    error = "cannot handle SIGCHLD: " + ec.message();
    return;
  }
  // Children that exited before the handler was installed sent their SIGCHLD to nobody.
  reap_exited();
  Impl::wait(impl_);
}

SigchldReaper::~SigchldReaper() {
  boost::system::error_code ec;
  impl_->signals.cancel(ec);
}

}  // namespace tend::process::detail
