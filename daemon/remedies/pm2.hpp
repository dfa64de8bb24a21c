#pragma once
// Internal: the pure parts of the pm2 remedy (reading `pm2 jlist`, judging a restart, choosing
// PM2_HOME), apart from the running so unit tests can feed them captured pm2 output.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/expected.hpp"

namespace tend::remedies::detail {

/// One entry of `pm2 jlist` (one per instance: a cluster app has several with the same name).
struct Pm2Process {
  std::string name;
  std::int64_t pm_id = -1;
  std::int64_t pid = 0;  // 0 when not running
  std::int64_t restart_time = 0;
  std::string status;  // online, stopped, errored, launching, ...
};

/// The process list in `pm2 jlist` output: the last line that is a JSON array. pm2 prints its banner
/// and "Spawning PM2 daemon" lines before it when it had to start a daemon first.
Expected<std::vector<Pm2Process>> parse_jlist(std::string_view output);

/// The entries named `name`, in pm_id order.
std::vector<Pm2Process> find_app(const std::vector<Pm2Process>& list, std::string_view name);

/// True when the output says pm2 started its daemon just now: the list is then of a new, empty
/// daemon — a sign of the wrong user or PM2_HOME rather than of a missing app.
bool spawned_daemon(std::string_view output);

/// jlist output for the record without the JSON (it carries every app's environment, secrets
/// included): the other lines, colours removed.
std::string jlist_remarks(std::string_view output);

/// One line about an app's entries: "tend-api: pid 123, restarts 4, online" (", 2 instances").
std::string summarize(std::string_view name, const std::vector<Pm2Process>& entries);

/// Why pm2's CLI would not read `name` as that app's name ("all", an id, an option), if so.
std::optional<std::string> ambiguous_name(std::string_view name);

/// What decides PM2_HOME for a run.
struct Pm2HomeInputs {
  bool user_configured = false;             // `user:` was given
  bool same_as_daemon = false;              // ...and it is the daemon's own user
  std::string user_home;                    // that user's home (passwd), or the daemon user's
  std::optional<std::string> env_pm2_home;  // PM2_HOME in the daemon's environment
  std::optional<std::string> env_home;      // HOME in the daemon's environment
};

/// PM2_HOME as pm2 will use it: the configured user's `~/.pm2` — or, for the daemon's own user
/// (no `user:` or `user:` naming it), the PM2_HOME the daemon was given, else `$HOME/.pm2`.
std::string resolve_pm2_home(const Pm2HomeInputs& in);

/// The verdict on a restart from the app's entries before and after `pm2 restart`.
struct Pm2Verdict {
  bool ok = false;
  std::string detail;
};

/// ok when every instance's restart count rose or its pid changed and none is stopped or errored.
Pm2Verdict judge_restart(std::string_view name, const std::vector<Pm2Process>& before,
                         const std::vector<Pm2Process>& after);

}  // namespace tend::remedies::detail
