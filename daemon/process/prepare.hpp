#pragma once
// Internal: turning a Spec into what the child needs (account, clean environment, executable path),
// before any fork. Runs on the spawner thread, since NSS lookups may block (LDAP, sssd); only the
// environment snapshot is taken on the loop, where the daemon's environment is read and written.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "process/launcher.hpp"
#include "util/expected.hpp"

namespace tend::process::detail {

/// The PATH every child starts with, as cron's.
inline constexpr const char* kChildPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A user account, resolved before fork since NSS is not fork-safe.
struct UserInfo {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, from getgrouplist (only for a change of user)
  std::string home;
};

/// Look up `user` by name, or by number when no such name exists (getpwnam_r/getpwuid_r + getgrouplist).
Expected<UserInfo> resolve_user(const std::string& user);
/// The account of `uid` without its groups, or nothing when it has no passwd entry.
std::optional<UserInfo> account_of(uid_t uid);

/// What a child takes from the daemon's environment, copied on the loop thread at spawn().
struct DaemonEnv {
  std::vector<std::pair<std::string, std::string>> locale;  // LANG, LANGUAGE, LC_*, TZ as set
  std::map<std::string, std::string> inherited;             // the Spec's inherit names that are set
};

/// Pick LANG, LANGUAGE, LC_* and TZ, and the `inherit` names, out of `environ`-style "KEY=VALUE" entries.
/// NOTIFY_SOCKET, WATCHDOG_*, LISTEN_* and CREDENTIALS_DIRECTORY are never picked, inherited or not.
DaemonEnv snapshot_env(const char* const* environ, const std::vector<std::string>& inherit);

/// The child's environment in order: PATH, SHELL, HOME/USER/LOGNAME of `account` (left out when
/// unknown), the daemon's locale and TZ, then spec.base_env, the inherited names, spec.env; a later
/// entry replaces an earlier one of the same name.
std::vector<std::string> build_env(const DaemonEnv& daemon, const UserInfo* account, const Spec& spec);

/// The paths execvp would try for `name`: `name` itself when it contains '/', else each directory of the
/// PATH in `env` (kChildPath when unset).
std::vector<std::string> exec_candidates(const std::string& name, const std::vector<std::string>& env);

/// Which of `candidates` to exec, as execvp would find it: the first regular file the child's user may
/// execute (`as` when set, else the daemon's effective ids); else the first that exists (exec then
/// says EACCES); else the first (exec says ENOENT). Relative candidates are looked up in `workdir`.
std::string choose_executable(const std::vector<std::string>& candidates, const std::string& workdir,
                              const UserInfo* as);

/// Everything the child needs, resolved before it starts.
struct Prepared {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string executable;
  std::optional<UserInfo> user;   // set only when credentials must change
  std::string workdir;            // empty: stay in the daemon's cwd
  bool workdir_optional = false;  // the user's home by default: fall back to "/" like login(1)
};

/// Validate and resolve `spec`: errors read like "user app: no such user". `own` is the daemon's own
/// account (HOME, USER, LOGNAME when spec.user is empty; may be null).
Expected<Prepared> prepare(const Spec& spec, const DaemonEnv& daemon_env, const UserInfo* own);

}  // namespace tend::process::detail
