// The real launcher, loop side: spawn() posts the Spec to the spawner thread (spawner.hpp) and returns
// at once; the started child comes back as a pid, a pidfd and the read end of its output pipe. Then,
// on the loop: the pipe is drained (capped), the pidfd is awaited through a Boost.Process v2 process
// handle (which reaps that one pid), and the SIGTERM -> kill_grace -> SIGKILL escalation goes to the
// process group, never just the pid (v2 signals only the pid).

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <csignal>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "process/group.hpp"
#include "process/launcher.hpp"
#include "process/output_buffer.hpp"
#include "process/spawner.hpp"
#include "process/v2.hpp"
#include "util/duration.hpp"

extern char** environ;

namespace tend::process {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;
using ProcessHandle = detail::bp::basic_process_handle<asio::io_context::executor_type>;

// How often to look again whether the leftovers of a group are gone once the main process has been
// reaped and the pipe has closed (a process that closed its stdout gives no other sign of life):
// soon at first, as SIGTERM usually works at once, then backing off, as each look scans /proc.
constexpr milliseconds kGroupPollFirst{10};
constexpr milliseconds kGroupPollMax{250};
// After SIGKILL to the group, how long to wait for the pipe to close. Only a process that left the
// group (setsid) can still hold it then, and it is out of our reach: stop waiting for it.
constexpr milliseconds kPipeWaitAfterKill{1000};
// One pipe's worth (the Linux default capacity) per read, and at most this many reads per turn of
// the loop for one child, so a flood of output from one shares the loop with the rest.
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
constexpr int kReadsPerTurn = 4;

/// The loop's one read buffer, shared by every child's pipe: a read fills it and its bytes go
/// straight into that child's capped OutputBuffer before anything else runs. A buffer per child
/// was 64 KiB resident for each run in flight: 64 MB at 1,000 jobs a second (issue 14).
std::vector<char>& read_buffer() {
  static thread_local std::vector<char> buffer(kReadChunk);
  return buffer;
}

class LauncherCore;

/// One child's state, from spawn() until it is reaped and reported (or abandoned). The launcher holds
/// it until then, and asio handlers hold it while they are pending; `done_` tells late handlers that
/// the run is over.
class ChildState : public std::enable_shared_from_this<ChildState> {
 public:
  ChildState(asio::io_context& io, const Spec& spec, ExitHandler on_exit, std::weak_ptr<LauncherCore> core)
      : io_(io),
        core_(std::move(core)),
        pipe_(io),
        timeout_timer_(io),
        kill_timer_(io),
        poll_timer_(io),
        output_(spec.output_limit),
        kill_grace_(spec.kill_grace),
        on_exit_(std::move(on_exit)),
        started_(SteadyClock::now()) {}

  ChildState(const ChildState&) = delete;
  ChildState& operator=(const ChildState&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string output_so_far() const { return output_.str(); }

  // Queued on the spawner thread; the deadline counts from now, a start still pending included.
  void submit(detail::Spawner& spawner, const Spec& spec) {
    std::weak_ptr<ChildState> weak = weak_from_this();
    ticket_ =
        spawner.submit(spec, detail::snapshot_env(environ, spec.inherit), [weak](Expected<detail::Started> started) {
          if (auto self = weak.lock()) {
            self->on_delivered(std::move(started));
          }
        });
    if (spec.timeout) {
      timeout_ = *spec.timeout;
      timeout_timer_.expires_after(*spec.timeout);
      timeout_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        // Not once it has ended, nor once its start was cancelled (stop() came first).
        if (!ec && !self->done_ && !self->reaped_ && (self->pending_ || self->pid_ > 0)) {
          self->timed_out_ = true;
          self->terminate_or_cancel("timeout after " + format_duration(self->timeout_) + " before the process started");
        }
      });
    }
  }

  void stop() {
    if (done_) {
      return;
    }
    stopped_ = true;
    terminate_or_cancel("stopped before the process started");
  }

  // The Child handle is gone: kill what runs (or make sure it never starts), and never call on_exit.
  void abandon() {
    if (done_) {
      return;
    }
    auto keep = shared_from_this();
    done_ = true;
    on_exit_ = nullptr;
    if (pending_) {
      if (!ticket_->try_cancel()) {
        ticket_->abandon();  // the spawner SIGKILLs it as soon as it exists; on_delivered reaps it
        return;
      }
      pending_ = false;
      ticket_.reset();
    } else if (pid_ > 0 && !group_gone_) {
      // Once the SIGTERM sweep found the group empty its id is free and may name another group by
      // now. Otherwise it is held: by the unreaped main process, or by the leftovers being swept.
      signal_group(SIGKILL);
    }
    cancel_all();  // the pidfd wait stays: the main process must still be reaped
    release_if_over();
  }

  // The launcher is going away: SIGKILL and reap now (blocking, bounded by the SIGKILL).
  void shut_down() {
    done_ = true;
    on_exit_ = nullptr;
    pending_ = false;
    ticket_.reset();
    cancel_all();
    if (pid_ > 0 && !reaped_) {
      // Closing the pidfd cancels its wait first: a wait left pending could reap a recycled pid later.
      process_.reset();
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
  }

 private:
  // On the loop, from the spawner thread: the process exists now, or could not be started.
  void on_delivered(Expected<detail::Started> started) {
    auto keep = shared_from_this();
    pending_ = false;
    ticket_.reset();
    if (!started) {
      if (!done_) {
        spawn_error_ = started.error();
        finish();
      }
      release_if_over();
      return;
    }
    detail::Fd pidfd;
    detail::Fd output;
    pid_ = started->release(pidfd, output);
    try {
      process_.emplace(io_.get_executor(), pid_, pidfd.get());
      pidfd.release();  // the handle owns it now
    } catch (const std::exception& e) {
      // Registering the pidfd with the reactor failed (ENOMEM, ENOSPC): the exit cannot be awaited
      // on the loop. Kill and reap at once rather than leave a process nobody watches.
      ::kill(-pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      if (!done_) {
        spawn_error_ = std::string("watch process: ") + e.what();
        finish();
      }
      release_if_over();
      return;
    }
    process_->async_wait([self = shared_from_this()](error_code ec, int status) { self->on_wait(ec, status); });
    if (done_) {
      signal_group(SIGKILL);  // abandoned while it was being started; on_wait reaps it
      return;
    }
    error_code ec;
    pipe_.assign(output.get(), ec);
    if (!ec) {
      pipe_.non_blocking(true, ec);  // on_readable's reads never wait
    }
    if (ec) {
      pipe_closed_ = true;  // without the pipe the output is lost, but the exit is still reported
    } else {
      output.release();
      read_some();
    }
    if (stopped_ || timed_out_) {
      terminate();  // asked for before the process existed
    }
  }

  // The main process has exited and been reaped (or the wait failed).
  void on_wait(const error_code& ec, int status) {
    if (ec == asio::error::operation_aborted || reaped_) {
      return;  // the handle was closed: the launcher is shutting down and reaps itself
    }
    auto keep = shared_from_this();
    reaped_ = true;
    wait_status_ = status;
    if (ec && !done_) {
      spawn_error_ = "wait: " + ec.message();  // ECHILD: someone else reaped it
    }
    if (done_) {
      release_if_over();
      return;
    }
    timeout_timer_.cancel();
    // Like systemd's KillMode=control-group: whatever the main process left behind in its group
    // (backgrounded helpers) goes with it.
    terminate();
    maybe_finish();
  }

  // stop() or the timeout: before the process exists, make sure it never starts and say why; once it
  // exists (or is being started), the group gets SIGTERM, then SIGKILL.
  void terminate_or_cancel(const std::string& why_not_started) {
    if (pending_) {
      if (ticket_->try_cancel()) {
        pending_ = false;
        ticket_.reset();
        spawn_error_ = why_not_started;
        // On the loop, but never from inside the caller's stop(): callers get one path.
        asio::post(io_, [self = shared_from_this()] {
          if (!self->done_) {
            self->finish();
          }
          self->release_if_over();
        });
      }
      return;  // being started: on_delivered terminates it
    }
    if (pid_ > 0) {
      terminate();
    }
  }

  void read_some() {
    pipe_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](const error_code& ec) { self->on_readable(ec); });
  }

  void on_readable(error_code ec) {
    if (done_) {
      return;
    }
    auto& buffer = read_buffer();
    for (int i = 0; !ec && i < kReadsPerTurn; ++i) {
      const std::size_t n = pipe_.read_some(asio::buffer(buffer), ec);
      output_.append(std::string_view(buffer.data(), n));
    }
    if (!ec) {
      // Stopped at the bound, not at an empty pipe: read on in the next turn. Waiting instead could
      // wait forever, since readiness is reported on a change only (a child that enlarged its pipe,
      // filled it and exited gives no further sign).
      asio::post(io_, [self = shared_from_this()] { self->on_readable({}); });
      return;
    }
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      read_some();  // drained: the next write or the last writer's close wakes us
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
    release_if_over();
  }

  void finish() {
    done_ = true;
    cancel_all();
    process_.reset();
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

  // The launcher lets go once nothing is left to report or reap.
  void release_if_over();

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
  }

  asio::io_context& io_;
  std::weak_ptr<LauncherCore> core_;
  asio::posix::stream_descriptor pipe_;
  asio::steady_timer timeout_timer_;
  asio::steady_timer kill_timer_;  // SIGKILL after kill_grace, then the last wait for the pipe
  asio::steady_timer poll_timer_;
  std::shared_ptr<detail::Ticket> ticket_;  // while pending
  std::optional<ProcessHandle> process_;    // the pidfd wait, from the start until reaped
  OutputBuffer output_;
  milliseconds kill_grace_;
  milliseconds timeout_{0};
  ExitHandler on_exit_;
  SteadyClock::time_point started_;
  std::string spawn_error_;
  pid_t pid_ = -1;
  int wait_status_ = 0;
  bool pending_ = true;  // submitted; not yet started, failed or cancelled
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

/// The launcher's shared half: the spawner thread and every child not yet reaped and reported.
class LauncherCore : public std::enable_shared_from_this<LauncherCore> {
 public:
  explicit LauncherCore(asio::io_context& io) : io_(io), work_(io.get_executor()), spawner_(io) {}

  std::shared_ptr<Child> spawn(const Spec& spec, ExitHandler on_exit) {
    auto state = std::make_shared<ChildState>(io_, spec, std::move(on_exit), weak_from_this());
    children_.emplace(state.get(), state);
    state->submit(spawner_, spec);
    return std::make_shared<PosixChild>(state);
  }

  void forget(ChildState* state) { children_.erase(state); }

  // Kill and reap everything still running. Blocking in waitpid is acceptable only here: this runs
  // at shutdown, right after SIGKILL, and once the launcher is gone nobody else would reap.
  void shutdown() {
    work_.reset();
    spawner_.shutdown();  // queued starts never happen; started ones not yet delivered are reaped
    auto children = std::move(children_);
    children_.clear();
    for (auto& [raw, state] : children) {
      state->shut_down();
    }
  }

 private:
  asio::io_context& io_;
  // Outstanding work for the launcher's lifetime, as the SIGCHLD wait it replaces was: a start
  // pending on the spawner thread is invisible to the io_context, which must not run out of work
  // (and stop) meanwhile.
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  detail::Spawner spawner_;
  std::unordered_map<ChildState*, std::shared_ptr<ChildState>> children_;
};

void ChildState::release_if_over() {
  if (done_ && !pending_ && (pid_ <= 0 || reaped_)) {
    if (auto core = core_.lock()) {
      core->forget(this);
    }
  }
}

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
