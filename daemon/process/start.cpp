// Starting a child through Boost.Process v2's launchers and init hooks:
//   ChildSetup (on_setup in the parent; on_exec_setup in the child: setpgid, default signal
//   dispositions and an empty mask, every inherited descriptor close-on-exec, RLIMIT_NOFILE;
//   on_exec_error: _exit(127); on_success: setpgid in the parent too), then v2's process_stdio
//   (stdin /dev/null, stdout and stderr on one pipe), then Credentials (setgroups, setgid, setuid,
//   chdir). Between fork and exec only async-signal-safe calls are made.
//
// Which launcher: without a change of user, posix::vfork_launcher: the child shares our memory until
// it execs, so no page tables are copied (bench/README.md: fork() of the daemon cost ~2 ms). A change
// of user needs posix::default_launcher (fork): glibc's setuid/setgid/setgroups signal every thread of
// the process to apply the change to all of them, and in a child sharing our memory "every thread"
// would be ours. ThreadSanitizer builds fork too (it does not support vfork children; ASan does).
//
// The launch context: both launchers call notify_fork(fork_child) in the child on the execution
// context of the executor they are given (asio's service_registry::notify_fork, which takes the
// registry's mutex, copies the service list into a std::vector and calls each service). On the loop's
// io_context that would run epoll_reactor::notify_fork, which recreates the epoll, timer and
// interrupter descriptors and re-registers every descriptor: with vfork, in the parent's memory. So we
// launch on a private io_context. It must also be a fresh one for each start: the launcher builds the
// returned process object (pidfd_open + a stream descriptor) on that same executor, which creates an
// epoll reactor there, and the next vfork child would then rewrite that reactor's descriptor numbers
// in our memory (tried: the second start fails with "assign: Invalid argument"). A fresh context has
// only its scheduler service, whose notify_fork does nothing; the std::vector it allocates in the child
// is allocated as the spawner thread (its tcache; that thread is suspended), and the mutex is ours.
// The cost, a reactor built and torn down per start, is paid on the spawner thread, not the loop.

#include "process/start.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <system_error>
#include <vector>

#include "process/v2.hpp"

namespace tend::process::detail {
namespace {

using bp::error_code;

void set_stage(ChildReport& report, Stage stage) {
  report.stage.store(static_cast<int>(stage), std::memory_order_relaxed);
}

// Records the failure of the current step. errno is set again because default_launcher writes errno
// (not our error_code) into its own pipe for the parent.
error_code fail(ChildReport& report, int err) {
  report.error.store(err, std::memory_order_relaxed);
  errno = err;
  return {err, boost::system::system_category()};
}

/// The first hook: process group, signals, descriptors, rlimit.
struct ChildSetup {
  ChildReport* report = nullptr;
  std::optional<rlim_t> nofile;
  bool close_range_cloexec = true;
  // Filled in by on_setup, in the parent: the child may only use them.
  struct sigaction default_action {};
  sigset_t empty_mask{};
  rlimit child_nofile{};
  bool set_nofile = false;
  int cloexec_limit = 0;

  template <class Launcher>
  error_code on_setup(Launcher& /*launcher*/, const bp::filesystem::path& /*exe*/, const char* const* /*argv*/) {
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigemptyset(&empty_mask);
    rlimit current{};
    if (::getrlimit(RLIMIT_NOFILE, &current) != 0) {
      return {errno, boost::system::system_category()};
    }
    // No descriptor of ours can be at or above the soft limit it was opened under, and the daemon only
    // ever raises it: the fallback loop stops there.
    cloexec_limit = current.rlim_cur > INT_MAX ? INT_MAX : static_cast<int>(current.rlim_cur);
    if (nofile && *nofile != current.rlim_cur) {
      child_nofile.rlim_max = current.rlim_max;
      child_nofile.rlim_cur = std::min(*nofile, current.rlim_max);
      set_nofile = true;
    }
    return {};
  }

  template <class Launcher>
  error_code on_exec_setup(Launcher& /*launcher*/, const bp::filesystem::path& /*exe*/, const char* const* /*argv*/) {
    set_stage(*report, Stage::setpgid);
    if (::setpgid(0, 0) != 0) {
      return fail(*report, errno);
    }
    // Ignored signals stay ignored across exec, and a handler of the daemon must never run here (with
    // vfork it would run on our memory): back to defaults first, then unblock (the spawner thread
    // blocks every signal, and the child inherits its mask).
    for (int sig = 1; sig < NSIG; ++sig) {
      ::sigaction(sig, &default_action, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP, glibc's own
    }
    ::sigprocmask(SIG_SETMASK, &empty_mask, nullptr);
    // Descriptors other modules opened without O_CLOEXEC (a socket, the database) must not reach the
    // job. v2 closes what is not whitelisted, but 1.81's close_all (close_handles.ipp, Linux) compares
    // each whitelist entry with itself, so with default_launcher's whitelist {0, 1, 2, its error pipe}
    // everything between 2 and that pipe stays open. Marking leaves the error pipe working until exec.
    if (!close_range_cloexec || ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      mark_cloexec_by_loop(3, cloexec_limit);
    }
    if (set_nofile) {
      set_stage(*report, Stage::rlimit);
      if (::setrlimit(RLIMIT_NOFILE, &child_nofile) != 0) {
        return fail(*report, errno);
      }
    }
    set_stage(*report, Stage::stdio);  // process_stdio runs next; it reports through the error_code
    return {};
  }

  // Both launchers call ::exit(EXIT_FAILURE) after a failed exec: atexit handlers and static
  // destructors in a vfork child running on our memory, or in a forked copy of a multithreaded
  // process. Leave first. (1.81 detects this hook with five arguments and calls it with four.)
  template <class Launcher, class... Rest>
  void on_exec_error(Launcher& /*launcher*/, Rest&&... /*rest*/) {
    ::_exit(127);
  }

  // The child does the same; doing it here too means the group exists before anyone can signal it.
  // EACCES (the child already exec'd) and ESRCH are fine: the child did it itself.
  template <class Launcher>
  void on_success(Launcher& launcher, const bp::filesystem::path& /*exe*/, const char* const* /*argv*/) {
    ::setpgid(launcher.pid, launcher.pid);
  }
};

/// The last hook: credentials, then the working directory.
struct Credentials {
  ChildReport* report = nullptr;
  const UserInfo* user = nullptr;  // null: no change of user
  const char* workdir = nullptr;   // null: stay in the daemon's cwd
  bool workdir_optional = false;

  template <class Launcher>
  error_code on_exec_setup(Launcher& /*launcher*/, const bp::filesystem::path& /*exe*/, const char* const* /*argv*/) {
    if (user != nullptr) {
      // Supplementary groups first and the uid last: once the uid is dropped the rest is not allowed.
      set_stage(*report, Stage::setgroups);
      if (::setgroups(user->groups.size(), user->groups.data()) != 0) {
        return fail(*report, errno);
      }
      set_stage(*report, Stage::setgid);
      if (::setgid(user->gid) != 0) {
        return fail(*report, errno);
      }
      set_stage(*report, Stage::setuid);
      if (::setuid(user->uid) != 0) {
        return fail(*report, errno);
      }
    }
    // After the drop, so a job never gets a working directory its user could not enter.
    if (workdir != nullptr) {
      set_stage(*report, Stage::chdir);
      if (::chdir(workdir) != 0) {
        const int err = errno;
        if (!workdir_optional || ::chdir("/") != 0) {
          return fail(*report, err);
        }
      }
    }
    set_stage(*report, Stage::exec);
    return {};
  }
};

// A daemon started with stdin/stdout/stderr closed gets 0, 1 or 2 back from pipe() or open(); the
// child's dup2 onto 0/1/2 would then clobber one of its own sources. Keeping ours at 3 and up rules
// that out.
bool raise_above_stdio(Fd& fd) {
  if (fd.get() > 2) {
    return true;
  }
  const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) {
    return false;
  }
  fd.reset(moved);
  return true;
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

std::string errno_text(int err) { return std::strerror(err); }

std::string stage_error(Stage stage, int err, const Prepared& p) {
  const std::string why = errno_text(err);
  const std::string user = p.user ? p.user->name : std::string();
  switch (stage) {
    case Stage::setpgid:
      return "setpgid: " + why;
    case Stage::rlimit:
      return "setrlimit RLIMIT_NOFILE: " + why;
    case Stage::stdio:
      return "redirect output: " + why;
    case Stage::setgroups:
      return "setgroups " + user + ": " + why;
    case Stage::setgid:
      return "setgid " + user + ": " + why;
    case Stage::setuid:
      return "setuid " + user + ": " + why;
    case Stage::chdir:
      return "chdir " + p.workdir + ": " + why;
    case Stage::exec:
      return "exec " + p.argv.front() + ": " + why;
    case Stage::none:
      break;
  }
  return "start " + p.argv.front() + ": " + why;
}

void reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

struct Launched {
  error_code ec;      // the launcher's verdict
  pid_t pid = -1;     // the child, when one was created (also when it failed before exec)
  std::string threw;  // what the launcher threw, if it did
};

template <class Launcher, class... Inits>
Launched run_launcher(const char* const* envp, const std::string& executable, const char** argv, Inits&... inits) {
  Launched out;
  boost::asio::io_context launch_context;  // fresh for each start: see the top of this file
  Launcher launcher;
  launcher.env = envp;
  try {
    auto proc = launcher(launch_context.get_executor(), out.ec, bp::filesystem::path(executable), argv, inits...);
    if (!out.ec) {
      proc.detach();  // we wait through our own pidfd on the loop; the process object would kill on destruction
    }
  } catch (const std::exception& e) {
    out.threw = e.what();  // e.g. building the process object after the child started
  }
  out.pid = launcher.pid;
  return out;
}

}  // namespace

ReportPage::ReportPage() {
  const long page = ::sysconf(_SC_PAGESIZE);
  page_ = ::mmap(nullptr, static_cast<std::size_t>(page > 0 ? page : 4096), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page_ == MAP_FAILED) {
    page_ = nullptr;
    throw std::system_error(errno, std::generic_category(), "mmap of the child report page");
  }
  report_ = new (page_) ChildReport;
}

ReportPage::~ReportPage() {
  if (page_ != nullptr) {
    report_->~ChildReport();
    const long page = ::sysconf(_SC_PAGESIZE);
    ::munmap(page_, static_cast<std::size_t>(page > 0 ? page : 4096));
  }
}

Started::Started(Started&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)), output_(std::move(other.output_)) {}

Started& Started::operator=(Started&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    output_ = std::move(other.output_);
  }
  return *this;
}

pid_t Started::release(Fd& pidfd, Fd& output) {
  pidfd = std::move(pidfd_);
  output = std::move(output_);
  return std::exchange(pid_, -1);
}

void Started::kill_and_reap() {
  if (pid_ > 1) {
    // Unreaped, so the pid still holds the group id: safe to signal.
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    reap(pid_);
  }
  pid_ = -1;
  pidfd_.reset();
  output_.reset();
}

bool have_close_range_cloexec() {
  // An empty range far above any descriptor: 0 where the flag is known, EINVAL on 5.9/5.10, ENOSYS before.
  return ::close_range(~0U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
}

void mark_cloexec_by_loop(int first, int limit) {
  for (int fd = first; fd < limit; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) {
      ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
}

Expected<Started> start(const Prepared& p, const StartOptions& options, ChildReport& report) {
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.get() < 0 || !raise_above_stdio(devnull)) {
    return Error{"open /dev/null: " + errno_text(errno)};
  }
  // Every descriptor is created O_CLOEXEC: another process forked meanwhile (tend exec's pipes, a
  // thread of a library) must not carry our write end away, or the pipe would never reach EOF.
  int out_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) {
    return Error{"pipe: " + errno_text(errno)};
  }
  Fd out_read(out_fds[0]);
  Fd out_write(out_fds[1]);
  if (!raise_above_stdio(out_read) || !raise_above_stdio(out_write)) {
    return Error{"fcntl: " + errno_text(errno)};
  }
  // Only our end is non-blocking: the child's stdout stays blocking, as programs expect.
  if (!set_nonblocking(out_read.get())) {
    return Error{"fcntl: " + errno_text(errno)};
  }

  std::vector<const char*> argv;
  argv.reserve(p.argv.size() + 1);
  for (const auto& a : p.argv) {
    argv.push_back(a.c_str());
  }
  argv.push_back(nullptr);
  std::vector<const char*> envp;
  envp.reserve(p.env.size() + 1);
  for (const auto& e : p.env) {
    envp.push_back(e.c_str());
  }
  envp.push_back(nullptr);

  report.stage.store(static_cast<int>(Stage::none), std::memory_order_relaxed);
  report.error.store(0, std::memory_order_relaxed);
  ChildSetup setup;
  setup.report = &report;
  setup.nofile = options.nofile;
  setup.close_range_cloexec = options.close_range_cloexec;
  bp::process_stdio stdio{devnull.get(), out_write.get(), out_write.get()};
  Credentials credentials;
  credentials.report = &report;
  credentials.user = p.user ? &*p.user : nullptr;
  credentials.workdir = p.workdir.empty() ? nullptr : p.workdir.c_str();
  credentials.workdir_optional = p.workdir_optional;

  // argv[0] stays as written ("python3"); the path found in PATH is only what is executed.
  const char** args = argv.data();
  const Launched launched =
      options.share_memory && !p.user
          ? run_launcher<bp::posix::vfork_launcher>(envp.data(), p.executable, args, setup, stdio, credentials)
          : run_launcher<bp::posix::default_launcher>(envp.data(), p.executable, args, setup, stdio, credentials);
  out_write.reset();  // the child has its copy (or none): EOF on the read end follows its exit

  if (!launched.threw.empty()) {
    if (launched.pid > 0) {
      Started(launched.pid, Fd(), Fd()).kill_and_reap();
    }
    return Error{"start " + p.argv.front() + ": " + launched.threw};
  }
  if (launched.ec) {
    if (launched.pid <= 0) {
      return Error{"fork: " + launched.ec.message()};
    }
    // The child failed before exec and is leaving with status 127 (on_exec_error): collect it.
    reap(launched.pid);
    // Both launchers make the child's failure our error_code (vfork: the child writes it into our
    // memory; fork: through default_launcher's pipe), and the report says at which step.
    const auto stage = static_cast<Stage>(report.stage.load(std::memory_order_relaxed));
    const int recorded = report.error.load(std::memory_order_relaxed);
    return Error{stage_error(stage, recorded != 0 ? recorded : launched.ec.value(), p)};
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, launched.pid, 0));
  Started started(launched.pid, Fd(pidfd), std::move(out_read));
  if (pidfd < 0) {
    const int err = errno;
    started.kill_and_reap();
    return Error{"pidfd_open: " + errno_text(err)};
  }
  return started;
}

}  // namespace tend::process::detail
