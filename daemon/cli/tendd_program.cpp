// tendd's flags: one ProgramSpec for parsing, --help and tendd(8).

#include "cli/tendd_program.hpp"

#include <iostream>
#include <vector>

#include "cli/app.hpp"

namespace tend::cli {
namespace {

ProgramSpec build() {
  ProgramSpec p;
  p.name = "tendd";
  p.man_section = 8;
  p.summary = "job scheduler, health prober and alerter for one Linux server";
  p.usage = "[--config FILE] | --check [FILE] | --version";
  p.description =
      "`tendd` runs the scheduled jobs of a YAML job table (as cron, with timeouts that kill the whole process "
      "group, retries, overlap policy, missed-tick detection and catch-up), probes HTTP health endpoints and "
      "restarts the PM2 app or systemd unit behind a failing probe, watches access logs for error rates, "
      "expects reports from passive checks, and sends alerts to Slack, Discord and webhooks through a durable "
      "outbox. History and state are kept in SQLite under the state directory.\n"
      "\n"
      "It runs in the foreground, logs to standard error (the journal under systemd), tells systemd when it is "
      "ready (`Type=notify`) and pings its watchdog. It is queried and steered with tend(1) over a Unix socket. "
      "The configuration is described in tend.yaml(5).";
  p.options = {
      {.names = "-c,--config",
       .value = "FILE",
       .help = "the configuration to run (default /etc/tend/tend.yaml)",
       .example = "/etc/tend/tend.yaml",
       .complete = Complete::file},
      {.names = "--check",
       .value = "FILE",
       .help = "validate FILE (default: the --config file) and its includes with the daemon's own validator; print "
               "every error with file:line:column and key path; exit 0 when valid, 1 when not",
       .optional_value = true,
       .example = "/etc/tend/tend.yaml",
       .complete = Complete::file},
      {.names = "-V,--version", .help = "print the version and exit"},
      {.names = "--generate", .value = "WHAT", .help = "print the man page", .hidden = true},
  };
  p.footer = "Exit codes: 0 ok (or a clean stop), 1 invalid configuration or a fatal error, 2 usage error.";
  p.sections = {
      {"Signals",
       "SIGHUP\treload: the new configuration is validated first; on errors the old one stays in force\n"
       "SIGTERM, SIGINT\tstop: running jobs get SIGTERM, then SIGKILL after their kill_grace; their runs are "
       "recorded as interrupted"},
      {"Exit status",
       "0\tthe configuration is valid (--check), or the daemon stopped cleanly\n"
       "1\tthe configuration has errors, or the daemon failed\n"
       "2\tusage error"},
      {"Environment",
       "CREDENTIALS_DIRECTORY\twhere ${cred:NAME} reads NAME (systemd LoadCredential=)\n"
       "NOTIFY_SOCKET, WATCHDOG_USEC\tset by systemd for Type=notify and WatchdogSec=\n"
       "TZ\tthe default time zone of schedules when daemon.timezone is not set"},
      {"Files",
       "/etc/tend/tend.yaml\tthe configuration, see tend.yaml(5)\n"
       "/etc/tend/conf.d/*.yaml\tincluded by the default configuration\n"
       "/var/lib/tend/tend.db\thistory, schedule state, alert outbox, silences\n"
       "/run/tend/tend.sock\tthe socket tend(1) talks to\n"
       "/lib/systemd/system/tend.service\tthe unit"},
      {"Example", "  tendd --check /etc/tend/tend.yaml && systemctl reload tend"},
  };
  p.see_also = {"tend(1)", "tend.yaml(5)", "systemd.service(5)", "crontab(5)"};
  return p;
}

}  // namespace

const ProgramSpec& tendd_program() {
  static const ProgramSpec program = build();
  return program;
}

DaemonParse parse_daemon_flags(int argc, const char* const* argv, const std::string& version) {
  const ProgramSpec& program = tendd_program();
  DaemonParse out;
  const Parsed parsed = parse(program, std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.exit) {
    out.exit = parsed.exit;
    return out;
  }
  const Invocation& inv = parsed.invocation;
  if (inv.has("version")) {
    std::cout << "tendd " << version << "\n";
    out.exit = exit_ok;
    return out;
  }
  if (inv.has("generate")) {
    if (inv.get("generate") != "man") {
      out.exit = usage_error(program, nullptr, "--generate takes man");
      return out;
    }
    print_man(std::cout, program, version, man_date());
    out.exit = exit_ok;
    return out;
  }
  out.flags.config = inv.get("config", out.flags.config);
  if (inv.has("check")) {
    out.flags.check = true;
    out.flags.config = inv.get("check", out.flags.config);
  }
  return out;
}

}  // namespace tend::cli
