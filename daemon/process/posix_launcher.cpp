// The real launcher: fork/exec into a new process group, SIGCHLD-driven reaping, the merged output
// pipe drained on the loop, and the SIGTERM -> kill_grace -> SIGKILL escalation, always to the group.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <csignal>
#include <unordered_map>
#include <utility>

#include "process/group.hpp"
#include "process/launcher.hpp"
#include "process/output_buffer.hpp"
#include "process/reaper.hpp"
#include "process/spawn.hpp"

namespace tend::process {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

// How often to look again whether the leftovers of a group are gone once the main process has been
// reaped and the pipe has closed (a process that closed its stdout gives no other sign of life):
// soon at first, as SIGTERM usually works at once, then backing off, as each look scans /proc.
constexpr milliseconds kGroupPollFirst{10};
constexpr milliseconds kGroupPollMax{250};
// After SIGKILL to the group, how long to wait for the pipe to close. Only a process that left the
// group (setsid) can still hold it then, and it is out of our reach: stop waiting for it.
constexpr milliseconds kPipeWaitAfterKill{1000};
// One pipe's worth (the Linux default capacity) per read.
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

/// One child's state. Asio handlers hold a shared_ptr to it, so it outlives the Child handle until
/// every pending operation has completed; `done_` tells late handlers that the run is over.
class ChildState : public std::enable_shared_from_this<ChildState> {
 public:
  ChildState(asio::io_context& io, const Spec& spec, ExitHandler on_exit)
      : io_(io),
        pipe_(io),
        timeout_timer_(io),
        kill_timer_(io),
        poll_timer_(io),
        chunk_(kReadChunk),
        output_(spec.output_limit),
        kill_grace_(spec.kill_grace),
        on_exit_(std::move(on_exit)),
        started_(SteadyClock::now()),
        program_(spec.argv.empty() ? std::string() : spec.argv.front()),
        user_(spec.user) {}

  ~ChildState() {
    if (status_fd_ >= 0) {
      ::close(status_fd_);
    }
  }
  ChildState(const ChildState&) = delete;
  ChildState& operator=(const ChildState&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool done() const { return done_; }
  [[nodiscard]] std::string output_so_far() const { return output_.str(); }

  // The child is running: drain its pipe and watch its deadline.
  void start(const detail::Forked& forked, const std::string& workdir, std::optional<milliseconds> timeout) {
    pid_ = forked.pid;
    status_fd_ = forked.status_fd;
    workdir_ = workdir;
    error_code ec;
    pipe_.assign(forked.output_fd, ec);
    if (ec) {
      // Without the pipe the output is lost, but the exit is still tracked and reported.
      ::close(forked.output_fd);
      pipe_closed_ = true;
    } else {
      read_some();
    }
    if (timeout) {
      timeout_timer_.expires_after(*timeout);
      timeout_timer_.async_wait([self = shared_from_this()](const error_code& wait_ec) {
        if (wait_ec || self->done_ || self->reaped_) {
          return;
        }
        self->timed_out_ = true;
        self->terminate();
      });
    }
  }

  // Nothing was started; report it on the loop, never from inside spawn(), so callers have one path.
  void fail_to_spawn(std::string error) {
    spawn_error_ = std::move(error);
    asio::post(io_, [self = shared_from_this()] {
      if (!self->done_) {
        self->finish();
      }
    });
  }

  void stop() {
    if (done_ || pid_ <= 0) {
      return;
    }
    stopped_ = true;
    terminate();
  }

  // The main process has been reaped.
  void on_reaped(int status) {
    if (done_ || reaped_) {
      return;
    }
    reaped_ = true;
    wait_status_ = status;
    timeout_timer_.cancel();
    spawn_error_ = detail::read_spawn_failure(status_fd_, program_, workdir_, user_);
    status_fd_ = -1;
    // Like systemd's KillMode=control-group: whatever the main process left behind in its group
    // (backgrounded helpers) goes with it.
    terminate();
    maybe_finish();
  }

  // The Child handle is gone (or the launcher is): kill what still runs, and never call on_exit.
  // The reaper still collects the main process.
  void abandon() {
    if (done_) {
      return;
    }
    done_ = true;
    on_exit_ = nullptr;
    // Once the SIGTERM sweep found the group empty its id is free and may name another group by now.
    // Otherwise it is held: by the unreaped main process, or by the leftovers being swept.
    if (!group_gone_) {
      signal_group(SIGKILL);
    }
    cancel_all();
  }

 private:
  void read_some() {
    pipe_.async_read_some(asio::buffer(chunk_),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, std::size_t n) {
    if (done_) {
      return;
    }
    output_.append(std::string_view(chunk_.data(), n));
    if (!ec) {
      read_some();
      return;
    }
    // EOF (every writer is gone) or an error there is no better answer to: either way no more output.
    close_pipe();
    maybe_finish();
  }

  // SIGTERM to the group, SIGKILL after kill_grace. Once per run, whoever asks first.
  void terminate() {
    if (term_sent_) {
      return;
    }
    term_sent_ = true;
    // An empty group stays empty (nobody can join it), but the timer is armed all the same: a process
    // that left the group (setsid) may still hold the pipe, and the wait for it must end.
    group_gone_ = !signal_group(SIGTERM);
    if (!group_gone_) {
      signal_group(SIGCONT);  // a stopped process would otherwise sit on its SIGTERM until SIGKILL
    }
    kill_timer_.expires_after(kill_grace_);
    kill_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec && !self->done_) {
        self->kill_group();
      }
    });
  }

  void kill_group() {
    kill_sent_ = true;
    if (group_gone_) {
      // Whoever still holds the pipe is outside the group and out of our reach: stop waiting. (And
      // the group id, free since the SIGTERM, must not be signalled: it may name someone else now.)
      close_pipe();
    } else {
      signal_group(SIGKILL);
    }
    if (!pipe_closed_) {
      kill_timer_.expires_after(kPipeWaitAfterKill);
      kill_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec && !self->done_) {
          self->close_pipe();
          self->maybe_finish();
        }
      });
    }
    maybe_finish();
  }

  // on_exit fires when the main process is reaped, the pipe is closed and the group is empty (or
  // has been sent SIGKILL).
  void maybe_finish() {
    if (done_ || !reaped_ || !pipe_closed_) {
      return;
    }
    if (!kill_sent_ && group_alive() && detail::group_has_live_member(pid_)) {
      // Leftovers got SIGTERM and the kill timer runs; nothing signals their end (they are not our
      // children and may have closed the pipe), so look again shortly. The /proc scan runs only when
      // kill(-pgid, 0) says the group exists: its dead members may wait long for init to reap them.
      if (!polling_) {
        polling_ = true;
        poll_timer_.expires_after(poll_interval_);
        poll_interval_ = std::min(poll_interval_ * 2, kGroupPollMax);
        poll_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
          self->polling_ = false;
          if (!ec) {
            self->maybe_finish();
          }
        });
      }
      return;
    }
    finish();
  }

  void finish() {
    done_ = true;
    cancel_all();
    Result result;
    if (!spawn_error_.empty()) {
      result.spawn_error = spawn_error_;
      result.exit_code = 127;
    } else if (WIFEXITED(wait_status_)) {
      result.exit_code = WEXITSTATUS(wait_status_);
    } else if (WIFSIGNALED(wait_status_)) {
      result.signal = WTERMSIG(wait_status_);
    }
    result.timed_out = timed_out_;
    result.stopped = stopped_;
    result.output = output_.str();
    result.output_bytes = output_.total();
    result.duration = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started_);
    // Moved out first: the handler may well destroy the Child (and with it our last outside owner).
    ExitHandler handler = std::move(on_exit_);
    on_exit_ = nullptr;
    if (handler) {
      handler(std::move(result));
    }
  }

  // True when the signal reached at least one process.
  bool signal_group(int sig) const {
    // pid_ <= 1 would turn kill(-pid) into "every process we may signal": never.
    return pid_ > 1 && ::kill(-pid_, sig) == 0;
  }

  [[nodiscard]] bool group_alive() const { return pid_ > 1 && (::kill(-pid_, 0) == 0 || errno == EPERM); }

  void close_pipe() {
    pipe_closed_ = true;
    error_code ec;
    pipe_.close(ec);
  }

  void cancel_all() {
    timeout_timer_.cancel();
    kill_timer_.cancel();
    poll_timer_.cancel();
    close_pipe();
    if (status_fd_ >= 0) {
      ::close(status_fd_);
      status_fd_ = -1;
    }
  }

  asio::io_context& io_;
  asio::posix::stream_descriptor pipe_;
  asio::steady_timer timeout_timer_;
  asio::steady_timer kill_timer_;  // SIGKILL after kill_grace, then the last wait for the pipe
  asio::steady_timer poll_timer_;
  std::vector<char> chunk_;
  OutputBuffer output_;
  milliseconds kill_grace_;
  ExitHandler on_exit_;
  SteadyClock::time_point started_;
  std::string program_;
  std::string workdir_;
  std::string user_;
  std::string spawn_error_;
  pid_t pid_ = -1;
  int status_fd_ = -1;
  int wait_status_ = 0;
  bool reaped_ = false;
  bool pipe_closed_ = false;
  bool term_sent_ = false;
  bool group_gone_ = false;  // the SIGTERM found nobody
  bool kill_sent_ = false;
  bool polling_ = false;
  milliseconds poll_interval_ = kGroupPollFirst;
  bool timed_out_ = false;
  bool stopped_ = false;
  bool done_ = false;  // on_exit delivered, or the Child abandoned
};

class PosixChild final : public Child {
 public:
  explicit PosixChild(std::shared_ptr<ChildState> state) : state_(std::move(state)) {}
  ~PosixChild() override { state_->abandon(); }
  PosixChild(const PosixChild&) = delete;
  PosixChild& operator=(const PosixChild&) = delete;

  [[nodiscard]] pid_t pid() const override { return state_->pid(); }
  void stop() override { state_->stop(); }
  [[nodiscard]] std::string output_so_far() const override { return state_->output_so_far(); }

 private:
  std::shared_ptr<ChildState> state_;
};

/// The launcher's shared half: reap notifications find it through a weak_ptr, so they are harmless
/// once the launcher is gone.
class LauncherCore : public std::enable_shared_from_this<LauncherCore> {
 public:
  explicit LauncherCore(asio::io_context& io) : io_(io), reaper_(io, reaper_error_) {}

  std::shared_ptr<Child> spawn(const Spec& spec, ExitHandler on_exit) {
    prune();
    auto state = std::make_shared<ChildState>(io_, spec, std::move(on_exit));
    auto child = std::make_shared<PosixChild>(state);
    if (!reaper_error_.empty()) {
      state->fail_to_spawn(reaper_error_);
      return child;
    }
    auto prepared = detail::prepare(spec);
    if (!prepared) {
      state->fail_to_spawn(prepared.error());
      return child;
    }
    // The pid is registered before the table is unlocked, so even a reaper on another thread cannot
    // reap it unnoticed.
    auto lock = detail::lock_pid_table();
    auto forked = detail::fork_exec(*prepared);
    if (!forked) {
      lock.unlock();
      state->fail_to_spawn(forked.error());
      return child;
    }
    const pid_t pid = forked->pid;
    std::weak_ptr<LauncherCore> weak = weak_from_this();
    detail::register_pid(lock, pid, {io_.get_executor(), [weak, pid](int status) {
                                       if (auto core = weak.lock()) {
                                         core->on_reaped(pid, status);
                                       }
                                     }});
    lock.unlock();
    children_.insert_or_assign(pid, Entry{state, false});
    state->start(*forked, prepared->workdir, spec.timeout);
    return child;
  }

  // Kill and reap everything still running. Blocking in waitpid is acceptable only here: this runs
  // at shutdown, right after SIGKILL, and once the launcher is gone nobody else would reap.
  void shutdown() {
    for (auto& [pid, entry] : children_) {
      if (auto state = entry.state.lock()) {
        state->abandon();
      }
      if (entry.reaped || !detail::unregister_pid(pid)) {
        continue;  // reaped already (its status may be on the way to a handler that will find us gone)
      }
      ::kill(-pid, SIGKILL);  // unreaped, so the pid still holds the group id: safe to signal
      ::kill(pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    children_.clear();
  }

 private:
  struct Entry {
    std::weak_ptr<ChildState> state;
    bool reaped = false;
  };

  void on_reaped(pid_t pid, int status) {
    auto it = children_.find(pid);
    if (it == children_.end()) {
      return;
    }
    it->second.reaped = true;
    if (auto state = it->second.state.lock()) {
      state->on_reaped(status);
    }
  }

  // Entries stay while a pid is unreaped or its state still runs (leftovers being cleaned up), so
  // shutdown() can still kill them.
  void prune() {
    std::erase_if(children_, [](const auto& item) {
      const auto state = item.second.state.lock();
      return item.second.reaped && (!state || state->done());
    });
  }

  asio::io_context& io_;
  std::string reaper_error_;  // before reaper_, which reports into it
  detail::SigchldReaper reaper_;
  std::unordered_map<pid_t, Entry> children_;
};

class PosixLauncher final : public Launcher {
 public:
  explicit PosixLauncher(asio::io_context& io) : core_(std::make_shared<LauncherCore>(io)) {}
  ~PosixLauncher() override { core_->shutdown(); }
  PosixLauncher(const PosixLauncher&) = delete;
  PosixLauncher& operator=(const PosixLauncher&) = delete;

  std::shared_ptr<Child> spawn(const Spec& spec, ExitHandler on_exit) override {
    return core_->spawn(spec, std::move(on_exit));
  }

 private:
  std::shared_ptr<LauncherCore> core_;
};

}  // namespace

std::unique_ptr<Launcher> make_posix_launcher(boost::asio::io_context& io) {
  return std::make_unique<PosixLauncher>(io);
}

}  // namespace tend::process
