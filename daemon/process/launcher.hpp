#pragma once
// Launching and owning child processes. One Child owns one process group: its handle, its merged
// stdout+stderr pipe (drained on the loop, capped), its timeout and its kill escalation.
// The Launcher is the seam tests replace.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/expected.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::process {

struct Spec {
  std::vector<std::string> argv;                      // argv[0] is looked up in PATH when it has no '/'
  std::map<std::string, std::string> env;             // added to (or overriding) the daemon's environment
  std::string workdir;                                // empty: the daemon's cwd (or the user's home with `user`)
  std::string user;                                   // empty: run as the daemon's user
  std::optional<std::chrono::milliseconds> timeout;   // SIGTERM to the group when reached
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

/// A running process group. Destroying it kills the group (SIGKILL) and reaps: never leaks.
class Child {
 public:
  virtual ~Child() = default;
  [[nodiscard]] virtual pid_t pid() const = 0;
  /// SIGTERM to the group, SIGKILL after kill_grace; on_exit then reports stopped = true.
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

/// The real thing: fork/exec into a new process group, SIGCHLD-driven reaping on the io_context.
/// `io` must outlive the launcher and every Child it returns. Destroying the launcher SIGKILLs and
/// reaps whatever still runs (its Children then report nothing). It reaps every child of the daemon
/// (waitpid(-1)): nothing else in the process may fork and wait for its own children.
std::unique_ptr<Launcher> make_posix_launcher(boost::asio::io_context& io);

}  // namespace tend::process
