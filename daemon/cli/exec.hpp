#pragma once
// `tend exec NAME [--timeout D] -- CMD...`: the drop-in wrapper for a crontab line. Runs CMD
// itself in its own process group (so it works while the daemon is down), passes its output
// through, enforces the timeout on the whole group, and reports start and end to the daemon.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tend::cli {

struct ExecOptions {
  std::string socket;
  std::string name;                                  // the check to report to
  std::optional<std::chrono::milliseconds> timeout;  // SIGTERM to the group, SIGKILL 10 s later
  std::vector<std::string> argv;                     // CMD
};

/// Run CMD and report it; returns CMD's exit status (124 on timeout, 128+N when killed by
/// signal N, 127/126 when it cannot be executed), whatever the daemon's state.
int run_exec(const ExecOptions& options);

/// `bytes` as valid UTF-8 (the socket speaks JSON): invalid sequences become '?'.
std::string to_utf8(std::string_view bytes);

}  // namespace tend::cli
