#include "process/spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <string_view>
#include <utility>

extern char** environ;

namespace tend::process::detail {
namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

std::string errno_text(int err) { return std::strerror(err); }

/// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.fd_, -1));
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
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

// What the child reports through the status pipe when it cannot exec.
enum class Stage : int { setpgid = 1, stdio, setgroups, setgid, setuid, chdir, exec };

struct ChildFailure {
  int stage;
  int error;
};

// Raw pointers into the parent's prepared data: the child must not allocate.
struct ChildPlan {
  char* const* argv;
  char* const* envp;
  const char* const* candidates;
  std::size_t candidate_count;
  const UserInfo* user;
  const char* workdir;  // nullptr: no chdir
  bool workdir_optional;
  int stdin_fd;
  int output_fd;
  int status_fd;
  struct sigaction default_action;
  sigset_t empty_mask;
};

[[noreturn]] void child_fail(int status_fd, Stage stage, int err) {
  const ChildFailure failure{static_cast<int>(stage), err};
  // Below PIPE_BUF a pipe write is atomic, so there is no short write to handle.
  ssize_t r = 0;
  do {
    r = ::write(status_fd, &failure, sizeof failure);
  } while (r < 0 && errno == EINTR);
  ::_exit(127);
}

// Runs in the child between fork and exec: async-signal-safe calls only (the daemon has other threads,
// whose locks may be held forever in this copy of the address space).
[[noreturn]] void run_child(const ChildPlan& plan) {
  if (::setpgid(0, 0) != 0) {
    child_fail(plan.status_fd, Stage::setpgid, errno);
  }
  // Ignored signals stay ignored across exec and the daemon's handlers would run here until exec
  // (asio's would tell the daemon it got the signal): back to defaults first, then unblock what the
  // parent blocked around fork().
  for (int sig = 1; sig < NSIG; ++sig) {
    ::sigaction(sig, &plan.default_action, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP, glibc's own
  }
  ::sigprocmask(SIG_SETMASK, &plan.empty_mask, nullptr);

  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.output_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.output_fd, STDERR_FILENO) < 0) {
    child_fail(plan.status_fd, Stage::stdio, errno);
  }
  // Descriptors other modules opened without O_CLOEXEC (a socket, the database) must not leak into
  // jobs; close_range only marks them, so the status pipe still works until exec succeeds.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

  if (plan.user != nullptr) {
    // Supplementary groups first and the uid last: once the uid is dropped the rest is not allowed.
    if (::setgroups(plan.user->groups.size(), plan.user->groups.data()) != 0) {
      child_fail(plan.status_fd, Stage::setgroups, errno);
    }
    if (::setgid(plan.user->gid) != 0) {
      child_fail(plan.status_fd, Stage::setgid, errno);
    }
    if (::setuid(plan.user->uid) != 0) {
      child_fail(plan.status_fd, Stage::setuid, errno);
    }
  }
  // After the drop, so a job never gets a working directory its user could not enter.
  if (plan.workdir != nullptr && ::chdir(plan.workdir) != 0) {
    const int err = errno;
    if (!plan.workdir_optional || ::chdir("/") != 0) {
      child_fail(plan.status_fd, Stage::chdir, err);
    }
  }

  // execvp's search, without its allocation: try each candidate, remember EACCES, skip the misses.
  int err = ENOENT;
  bool saw_eacces = false;
  for (std::size_t i = 0; i < plan.candidate_count; ++i) {
    ::execve(plan.candidates[i], plan.argv, plan.envp);
    err = errno;
    if (err == EACCES) {
      saw_eacces = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV && err != ETIMEDOUT) {
      break;  // found but unusable (ENOEXEC, E2BIG, ...): report it as execvp does
    }
  }
  if (saw_eacces && (err == ENOENT || err == ENOTDIR)) {
    err = EACCES;
  }
  child_fail(plan.status_fd, Stage::exec, err);
}

int child_entry(void* plan) { run_child(*static_cast<const ChildPlan*>(plan)); }

// The child's stack when it shares the parent's memory (see fork_exec); run_child needs little.
constexpr std::size_t kChildStack = std::size_t{64} * 1024;

// Reads the passwd entry with a growing buffer; returns errno-style status.
template <class Lookup>
int lookup_passwd(Lookup lookup, passwd& pw, std::vector<char>& buf, passwd*& found) {
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  buf.resize(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  for (;;) {
    found = nullptr;
    const int err = lookup(&pw, buf.data(), buf.size(), &found);
    if (err == ERANGE && buf.size() < (1U << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return err;
  }
}

}  // namespace

Expected<UserInfo> resolve_user(const std::string& user) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf;
  int err = lookup_passwd(
      [&](passwd* out, char* b, std::size_t n, passwd** res) { return ::getpwnam_r(user.c_str(), out, b, n, res); }, pw,
      buf, found);
  if (found == nullptr) {
    uid_t uid = 0;
    const char* end = user.data() + user.size();
    if (auto [ptr, ec] = std::from_chars(user.data(), end, uid); ec == std::errc() && ptr == end && !user.empty()) {
      err = lookup_passwd(
          [&](passwd* out, char* b, std::size_t n, passwd** res) { return ::getpwuid_r(uid, out, b, n, res); }, pw, buf,
          found);
    }
  }
  if (found == nullptr) {
    // glibc reports "not found" as success with no result; other NSS modules use ENOENT and friends.
    const bool missing = err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
    return Error{"user " + user + ": " + (missing ? std::string("no such user") : errno_text(err))};
  }
  UserInfo info;
  info.name = pw.pw_name;
  info.uid = pw.pw_uid;
  info.gid = pw.pw_gid;
  info.home = pw.pw_dir != nullptr ? pw.pw_dir : "";
  info.shell = (pw.pw_shell != nullptr && *pw.pw_shell != '\0') ? pw.pw_shell : "/bin/sh";

  int count = 32;
  for (int attempt = 0; attempt < 8; ++attempt) {
    info.groups.resize(static_cast<std::size_t>(count));
    int n = count;
    if (::getgrouplist(info.name.c_str(), info.gid, info.groups.data(), &n) >= 0) {
      info.groups.resize(static_cast<std::size_t>(n));
      return info;
    }
    // -1 means the array was too small and n now holds the size needed.
    count = n > count ? n : count * 2;
  }
  return Error{"user " + user + ": cannot list its groups"};
}

std::vector<std::string> build_env(const char* const* base, const UserInfo* user,
                                   const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  std::map<std::string, std::size_t, std::less<>> position;
  auto set = [&](std::string_view key, std::string entry) {
    if (auto it = position.find(key); it != position.end()) {
      out[it->second] = std::move(entry);
      return;
    }
    position.emplace(std::string(key), out.size());
    out.push_back(std::move(entry));
  };
  for (const char* const* p = base; p != nullptr && *p != nullptr; ++p) {
    const std::string_view entry(*p);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      continue;
    }
    set(entry.substr(0, eq), std::string(entry));
  }
  if (user != nullptr) {
    set("HOME", "HOME=" + user->home);
    set("USER", "USER=" + user->name);
    set("LOGNAME", "LOGNAME=" + user->name);
    set("SHELL", "SHELL=" + user->shell);
  }
  for (const auto& [key, value] : overrides) {
    set(key, key + "=" + value);
  }
  return out;
}

std::vector<std::string> exec_candidates(const std::string& name, const std::vector<std::string>& env) {
  if (name.empty()) {
    return {};
  }
  if (name.find('/') != std::string::npos) {
    return {name};
  }
  std::string_view path = kDefaultPath;
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) {
      path = std::string_view(entry).substr(5);
    }
  }
  std::vector<std::string> out;
  for (;;) {
    const auto colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    if (dir.empty()) {
      out.push_back(name);  // an empty PATH element means the current directory
    } else if (dir.ends_with('/')) {
      out.push_back(std::string(dir) + name);
    } else {
      out.push_back(std::string(dir) + "/" + name);
    }
    if (colon == std::string_view::npos) {
      break;
    }
    path.remove_prefix(colon + 1);
  }
  return out;
}

Expected<Prepared> prepare(const Spec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return Error{"empty command"};
  }
  for (const auto& [key, value] : spec.env) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return Error{"bad environment variable name '" + key + "'"};
    }
  }
  Prepared p;
  p.argv = spec.argv;
  std::optional<UserInfo> user;
  if (!spec.user.empty()) {
    auto resolved = resolve_user(spec.user);
    if (!resolved) {
      return Error{resolved.error()};
    }
    user = std::move(resolved.value());
  }
  p.env = build_env(environ, user ? &*user : nullptr, spec.env);
  p.candidates = exec_candidates(spec.argv.front(), p.env);
  p.workdir = spec.workdir;
  if (user) {
    if (p.workdir.empty()) {
      p.workdir = user->home;
      p.workdir_optional = true;
    }
    // Running a job as the daemon's own user needs no credential change (and a non-root daemon could
    // not make one).
    if (user->uid != ::geteuid()) {
      p.user = std::move(user);
    }
  }
  return p;
}

Expected<Forked> fork_exec(const Prepared& p) {
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.get() < 0 || !raise_above_stdio(devnull)) {
    return Error{"open /dev/null: " + errno_text(errno)};
  }
  // Every descriptor is created O_CLOEXEC: another thread forking at the same moment must not carry
  // our write ends into its child, or our pipe would never reach EOF.
  int out_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) {
    return Error{"pipe: " + errno_text(errno)};
  }
  Fd out_read(out_fds[0]);
  Fd out_write(out_fds[1]);
  int status_fds[2];
  if (::pipe2(status_fds, O_CLOEXEC) != 0) {
    return Error{"pipe: " + errno_text(errno)};
  }
  Fd status_read(status_fds[0]);
  Fd status_write(status_fds[1]);
  if (!raise_above_stdio(out_read) || !raise_above_stdio(out_write) || !raise_above_stdio(status_read) ||
      !raise_above_stdio(status_write)) {
    return Error{"fcntl: " + errno_text(errno)};
  }
  // Only our ends are non-blocking: the child's stdout must stay blocking, as programs expect.
  if (!set_nonblocking(out_read.get()) || !set_nonblocking(status_read.get())) {
    return Error{"fcntl: " + errno_text(errno)};
  }

  std::vector<char*> argv;
  argv.reserve(p.argv.size() + 1);
  for (const auto& a : p.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(p.env.size() + 1);
  for (const auto& e : p.env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  std::vector<const char*> candidates;
  candidates.reserve(p.candidates.size());
  for (const auto& c : p.candidates) {
    candidates.push_back(c.c_str());
  }

  ChildPlan plan{};
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.candidates = candidates.data();
  plan.candidate_count = candidates.size();
  plan.user = p.user ? &*p.user : nullptr;
  plan.workdir = p.workdir.empty() ? nullptr : p.workdir.c_str();
  plan.workdir_optional = p.workdir_optional;
  plan.stdin_fd = devnull.get();
  plan.output_fd = out_write.get();
  plan.status_fd = status_write.get();
  std::memset(&plan.default_action, 0, sizeof plan.default_action);
  plan.default_action.sa_handler = SIG_DFL;
  sigemptyset(&plan.default_action.sa_mask);
  sigemptyset(&plan.empty_mask);

  // Block everything across fork so no handler of the daemon runs in the child before it resets them.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  // Without a change of user the child shares our memory until it execs (vfork semantics, as
  // posix_spawn does): no page tables to copy, so a start costs ~0.1 ms instead of the ~2 ms fork()
  // took for a daemon of this size, on the loop (bench/README.md, `spawn` and `jobs`). The loop
  // thread waits only until the exec. A change of user needs fork(): glibc's setuid/setgid/
  // setgroups signal every thread of the process to apply the change to all of them, and in a
  // child sharing our memory "every thread" would be ours. Sanitizer builds fork too: their
  // runtime does not know a stack it did not see created.
  pid_t pid = -1;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr bool kMayShareMemory = false;
#else
  constexpr bool kMayShareMemory = true;
#endif
  std::vector<char> stack;
  if (kMayShareMemory && plan.user == nullptr) {
    stack.resize(kChildStack);
    pid = ::clone(&child_entry, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  } else {
    pid = ::fork();
    if (pid == 0) {
      run_child(plan);
    }
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    return Error{"fork: " + errno_text(fork_errno)};  // clone's errors are fork's
  }
  // The child does the same; doing it here too means the group exists before anyone can signal it.
  // EACCES (the child already exec'd) and ESRCH are fine: the child did it itself.
  ::setpgid(pid, pid);
  return Forked{pid, out_read.release(), status_read.release()};
}

std::string read_spawn_failure(int status_fd, const std::string& program, const std::string& workdir,
                               const std::string& user) {
  ChildFailure failure{};
  ssize_t n = 0;
  do {
    n = ::read(status_fd, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(status_fd);
  // EOF (exec closed the CLOEXEC write end) or EAGAIN (another process still holds it, but ours wrote
  // nothing): exec succeeded.
  if (n != static_cast<ssize_t>(sizeof failure)) {
    return "";
  }
  const std::string why = errno_text(failure.error);
  switch (static_cast<Stage>(failure.stage)) {
    case Stage::setpgid:
      return "setpgid: " + why;
    case Stage::stdio:
      return "redirect output: " + why;
    case Stage::setgroups:
      return "setgroups " + user + ": " + why;
    case Stage::setgid:
      return "setgid " + user + ": " + why;
    case Stage::setuid:
      return "setuid " + user + ": " + why;
    case Stage::chdir:
      return "chdir " + workdir + ": " + why;
    case Stage::exec:
      return "exec " + program + ": " + why;
  }
  return "spawn " + program + ": " + why;
}

}  // namespace tend::process::detail
