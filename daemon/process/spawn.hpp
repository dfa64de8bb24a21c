#pragma once
// Internal: turning a Spec into a running process. Everything that allocates, reads NSS or formats
// happens in the parent (prepare); between fork and exec the child makes async-signal-safe calls only.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "process/launcher.hpp"
#include "util/expected.hpp"

namespace tend::process::detail {

/// A user account resolved in the parent, since NSS (getpwnam, LDAP, sssd) is not fork-safe.
struct UserInfo {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, from getgrouplist
  std::string home;
  std::string shell;
};

/// Look up `user` by name, or by number when no such name exists (getpwnam_r/getpwuid_r + getgrouplist).
Expected<UserInfo> resolve_user(const std::string& user);

/// The child's environment: `base` ("KEY=VALUE" entries, e.g. environ), then HOME/USER/LOGNAME/SHELL of
/// `user`, then `overrides`; later entries replace earlier ones of the same name.
std::vector<std::string> build_env(const char* const* base, const UserInfo* user,
                                   const std::map<std::string, std::string>& overrides);

/// The paths execvp would try for `name`: `name` itself when it contains '/', else each directory of the
/// PATH in `env` (a default PATH when unset).
std::vector<std::string> exec_candidates(const std::string& name, const std::vector<std::string>& env);

/// Everything the child needs, built before fork.
struct Prepared {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::vector<std::string> candidates;
  std::optional<UserInfo> user;   // set only when credentials must change
  std::string workdir;            // empty: stay in the daemon's cwd
  bool workdir_optional = false;  // the user's home by default: fall back to "/" like login(1)
};

/// Validate and resolve `spec` (user, environment, PATH lookup); errors read like "user app: no such user".
Expected<Prepared> prepare(const Spec& spec);

/// The parent's ends of a freshly forked child.
struct Forked {
  pid_t pid = -1;
  int output_fd = -1;  // read end of the merged stdout+stderr pipe, O_NONBLOCK, O_CLOEXEC
  int status_fd = -1;  // read end of the exec status pipe, O_NONBLOCK, O_CLOEXEC
};

/// Fork and exec `p` in a new process group. Call with the pid table locked (see reaper.hpp).
Expected<Forked> fork_exec(const Prepared& p);

/// After the child has exited: what its exec status pipe reports, worded like "exec python3: No such
/// file or directory" ("" when exec succeeded). Closes `status_fd`. Never blocks.
std::string read_spawn_failure(int status_fd, const std::string& program, const std::string& workdir,
                               const std::string& user);

}  // namespace tend::process::detail
