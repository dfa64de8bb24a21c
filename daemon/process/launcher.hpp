#pragma once
// Launching and owning child processes. One Child owns one process group: its handle, its merged
// stdout+stderr pipe (drained on the loop, capped), its timeout and its kill escalation.
// The Launcher is the seam tests replace.
//
// The real launcher starts children through Boost.Process v2 (posix::vfork_launcher, or
// posix::default_launcher, which forks, when the child changes user), with init hooks for the
// process group, signals, rlimits, stdio, credentials and working directory. User lookups, PATH
// resolution and the fork itself run on one spawner thread owned by the launcher: the loop posts a
// Spec there and gets the started child (pid, pidfd, output pipe) posted back. Each child is then
// awaited through its own pidfd on the loop (a v2 process handle); nothing reaps with waitpid(-1).

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace tend::process {

/// What to run, and how. The child's environment is clean, as cron's: PATH, SHELL=/bin/sh, HOME, USER
/// and LOGNAME of the user it runs as, LANG/LANGUAGE/LC_*/TZ from the daemon; then base_env, then the
/// `inherit` names, then env (later ones win). Nothing else of the daemon's environment.
struct Spec {
  std::vector<std::string> argv;                      // argv[0] is looked up in PATH when it has no '/'
  std::map<std::string, std::string> base_env;        // daemon.env: applied right after the clean base
  std::vector<std::string> inherit;                   // names copied from the daemon's environment when set
  std::map<std::string, std::string> env;             // the entry's env (and TEND_* variables): applied last
  std::string workdir;                                // empty: the daemon's cwd (or the user's home with `user`)
  std::string user;                                   // empty: run as the daemon's user
  std::optional<std::chrono::milliseconds> timeout;   // SIGTERM to the group when reached (counted from spawn())
  std::chrono::milliseconds kill_grace{10'000};       // then SIGKILL to the group
  std::size_t output_limit = std::size_t{64} * 1024;  // keep the last N bytes of output
};

/// How a run ended. Exactly one of exit_code / signal is set unless spawn_error is set.
struct Result {
  std::optional<int> exit_code;
  std::optional<int> signal;              // e.g. SIGKILL = 9
  bool timed_out = false;                 // the timeout fired (then signal is usually SIGTERM/SIGKILL)
  bool stopped = false;                   // stop() was requested (shutdown, replace)
  std::string spawn_error;                // "exec python3: No such file or directory"; exit_code = 127
  std::string output;                     // last output_limit bytes of stdout+stderr
  std::uint64_t output_bytes = 0;         // total bytes the process wrote
  std::chrono::milliseconds duration{0};  // from spawn() to on_exit, group clean-up included
  /// True when the process exited with status 0.
  [[nodiscard]] bool success() const { return spawn_error.empty() && exit_code && *exit_code == 0; }
};

/// A process group, running or about to. Destroying it kills the group (SIGKILL) and reaps, or makes
/// sure the process never starts: never leaks, and on_exit never runs after that.
class Child {
 public:
  virtual ~Child() = default;
  /// The main process's id; -1 until it has started (spawns are started off the loop).
  [[nodiscard]] virtual pid_t pid() const = 0;
  /// SIGTERM to the group, SIGKILL after kill_grace; on_exit then reports stopped = true. Before the
  /// process has started: it never starts, and on_exit reports stopped with a spawn_error.
  virtual void stop() = 0;
  /// The output so far (the capped tail), e.g. for a live `tend output`.
  [[nodiscard]] virtual std::string output_so_far() const = 0;
};

using ExitHandler = std::function<void(Result)>;

class Launcher {
 public:
  virtual ~Launcher() = default;
  /// Start `spec`. on_exit runs on the loop exactly once, after the main process has exited,
  /// its group has been cleaned up and its output drained. A spawn failure (no such program,
  /// unknown user, bad workdir) is reported through on_exit (spawn_error, exit_code 127), not
  /// as an exception, so callers have one path.
  virtual std::shared_ptr<Child> spawn(const Spec& spec, ExitHandler on_exit) = 0;
};

/// The real thing (see the top of this file). `io` must outlive the launcher and every Child it
/// returns. Destroying the launcher SIGKILLs and reaps whatever still runs (its Children then report
/// nothing) and stops its spawner thread.
std::unique_ptr<Launcher> make_posix_launcher(boost::asio::io_context& io);

/// The soft RLIMIT_NOFILE children start with (their hard limit stays the daemon's). tendd calls this
/// with the soft limit it was started with, before raising its own: programs using select() break
/// above 1024. Launchers read it when they start a child; without a call children keep the daemon's.
void set_child_nofile_limit(rlim_t soft);

}  // namespace tend::process
