#pragma once
// Names of the daemon's environment that no child ever gets (SPEC "Children's environment"): one
// list, used by the config (an `env_inherit` naming one is an error) and by the launcher (never
// passed on, whatever the config says).

#include <string_view>

namespace tend {

/// systemd's channels to the daemon itself: a child holding them could speak for the daemon
/// (sd_notify, the watchdog), take over its sockets or read its credentials.
inline bool is_daemon_only_env(std::string_view key) {
  return key == "NOTIFY_SOCKET" || key == "CREDENTIALS_DIRECTORY" || key.starts_with("WATCHDOG_") ||
         key.starts_with("LISTEN_");
}

}  // namespace tend
