#pragma once
// tend's commands: the one table (tend_program) and the function behind each entry.

#include <string>

#include "cli/spec.hpp"

namespace tend::cli {

/// Every command of `tend`, with its arguments, options, help and examples. `tend help`, the
/// tend(1) man page and the bash completion are generated from this table.
const ProgramSpec& tend_program();

/// The socket: --socket PATH, else $TEND_SOCKET, else /run/tend/tend.sock.
std::string socket_path(const Invocation& inv);

// One function per command; each returns the exit code.
int cmd_status(const Invocation& inv);
int cmd_history(const Invocation& inv);
int cmd_output(const Invocation& inv);
int cmd_alerts(const Invocation& inv);
int cmd_metrics(const Invocation& inv);
int cmd_cluster(const Invocation& inv);
int cmd_run(const Invocation& inv);
int cmd_pause(const Invocation& inv);
int cmd_resume(const Invocation& inv);
int cmd_silence(const Invocation& inv);
int cmd_unsilence(const Invocation& inv);
int cmd_reload(const Invocation& inv);
int cmd_test_alert(const Invocation& inv);
int cmd_ping(const Invocation& inv);
int cmd_exec(const Invocation& inv);
int cmd_next(const Invocation& inv);
int cmd_import_crontab(const Invocation& inv);
int cmd_help(const Invocation& inv);

/// `tend --complete KIND`: names for the bash completion (entries, jobs, checks, notifiers), one
/// a line; prints nothing and exits 0 when the daemon does not answer within a second.
int complete_names(const Invocation& inv, const std::string& kind);

}  // namespace tend::cli
