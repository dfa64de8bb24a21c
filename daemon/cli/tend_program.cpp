// The one list of tend's commands. Help, the man page, the bash completion and the docs test
// all read it; a command exists exactly when it has an entry here.

#include "cli/commands.hpp"

namespace tend::cli {
namespace {

OptionSpec json_option(const std::string& what) {
  return {.names = "--json", .help = "print " + what + " as JSON (one line) instead of a table"};
}

OptionSpec count_option(const std::string& fallback) {
  return {.names = "-n",
          .value = "COUNT",
          .help = "how many, newest first (1-10000; default " + fallback + ")",
          .example = fallback};
}

ProgramSpec build() {
  ProgramSpec p;
  p.name = "tend";
  p.man_section = 1;
  p.summary = "query and steer tendd, the job scheduler and health monitor";
  p.usage = "[--socket PATH] COMMAND [ARGS...]";
  p.description =
      "`tend` talks to `tendd` over its Unix socket: it shows the state of every job, probe, watch and check, "
      "their history and output, runs and pauses them, mutes notifications, and reports in for passive checks. "
      "`tend next` and `tend import-crontab` need no daemon.\n"
      "\n"
      "Reading (status, history, output, alerts, metrics, cluster) and reporting in (ping, exec) are open to "
      "whoever may open the socket (group `socket_group`); run, pause, resume, silence, unsilence, reload and "
      "test-alert need root or the `admin_group`.";
  p.options = {
      {.names = "--socket",
       .value = "PATH",
       .help = "tendd's socket (default: $TEND_SOCKET, else /run/tend/tend.sock)",
       .example = "/run/tend/tend.sock",
       .complete = Complete::file},
      {.names = "--version", .help = "print tend's version and exit"},
      {.names = "--generate", .value = "WHAT", .help = "print the man page or the bash completion", .hidden = true},
      {.names = "--complete", .value = "KIND", .help = "names for the completion", .hidden = true},
  };
  p.footer =
      "Run 'tend help COMMAND' or 'tend COMMAND --help' for a command's options and examples.\n"
      "\n"
      "Exit codes: 0 ok, 1 the request failed, 2 usage error, 3 tendd not reachable.";

  const std::string inspect = "inspect";
  const std::string control = "control (root or admin_group)";
  const std::string report = "report in (passive checks)";
  const std::string offline = "without a daemon";

  p.commands = {
      {.name = "status",
       .group = inspect,
       .summary = "every job, probe, watch and check: state, last result, last and next run",
       .description =
           "One line per entry: kind, name, state (with paused and silenced), the last result, when it last ran "
           "and runs next, consecutive failures, and a detail (a probe's latency and reason, a watch's error "
           "rate). Below: firing alerts, silences, and notifiers that are behind. On a terminal the states are "
           "coloured (unless NO_COLOR is set), times are relative (\"in 3m\", \"2h ago\") and the table fits the "
           "window; piped, it prints full ISO-8601 times and no colour.",
       .options = {json_option("the status document"),
                   {.names = "-w,--watch",
                    .value = "SECONDS",
                    .help = "redraw every SECONDS (default 2) until Ctrl-C",
                    .optional_value = true,
                    .example = "5"}},
       .examples = {{"tend status", "the table"},
                    {"tend status --watch 5", "a live view, redrawn every 5 seconds"},
                    {"tend status --json | jq '.entries[] | select(.state != \"up\")'", "for scripts"}},
       .run = cmd_status},
      {.name = "history",
       .group = inspect,
       .summary = "recent runs of a job, or results of a probe or check",
       .description = "Newest first: run id, attempt, start, duration, outcome (success, failure, timeout, skipped, "
                      "missed, interrupted; up or down for probes), exit code or signal, and the reason.",
       .args = {{.name = "NAME", .help = "a job, probe, watch or check", .complete = Complete::entry}},
       .options = {count_option("20"), json_option("the history document")},
       .examples = {{"tend history backup", "the last 20 runs of backup"},
                    {"tend history api -n 50 --json", "50 probe results, as JSON"}},
       .run = cmd_history},
      {.name = "output",
       .group = inspect,
       .summary = "captured output of a run (default: the last one)",
       .description = "stdout and stderr of the run, together, as captured (the last 64 KiB). A run still in "
                      "progress shows what it printed so far. On a terminal, control characters in the output "
                      "are shown escaped (\\x1b) instead of being sent to the terminal.",
       .args = {{.name = "NAME", .help = "a job or check", .complete = Complete::entry},
                {.name = "RUN_ID", .help = "a run id from `tend history` (default: the last run)", .required = false}},
       .examples = {{"tend output backup", "what the last run of backup printed"},
                    {"tend output backup 812", "what run 812 printed"}},
       .run = cmd_output},
      {.name = "alerts",
       .group = inspect,
       .summary = "the alert log: fired, resolved, sent, silenced, inhibited, grouped",
       .description = "Newest first: when, kind, name, event, status, severity, occurrences, what was done "
                      "(sent, silenced, inhibited, grouped, no_route), to which notifiers, and the summary.",
       .args =
           {{.name = "NAME", .help = "only the alerts of this entry", .required = false, .complete = Complete::entry}},
       .options = {count_option("50"), json_option("the alert log")},
       .examples = {{"tend alerts", "the last 50 alerts"}, {"tend alerts backup -n 10", "the last 10 about backup"}},
       .run = cmd_alerts},
      {.name = "metrics",
       .group = inspect,
       .summary = "Prometheus text exposition (the same text as GET /metrics)",
       .description = "Prints the metrics in Prometheus text format 0.0.4, as the daemon's HTTP listener serves "
                      "them, without needing `daemon.metrics.listen`.",
       .examples = {{"tend metrics | grep tend_job_runs_total", "run counters per job"}},
       .run = cmd_metrics},
      {.name = "cluster",
       .group = inspect,
       .summary = "cluster mode: members, their leases, and which host ran each tick",
       .description = "Members (node, alive, lease time left) and, per job, the last ticks with the host that ran "
                      "each. Only in cluster mode (`cluster:` in the config).",
       .options = {json_option("the cluster document")},
       .examples = {{"tend cluster", "members and recent ticks"}},
       .run = cmd_cluster},

      {.name = "run",
       .group = control,
       .summary = "run a job now",
       .description = "Starts a run at once, outside the schedule (retries and timeout apply as usual). With "
                      "--wait, prints the run's output and its outcome and exits 0 when it succeeded, 1 when not.",
       .args = {{.name = "NAME", .help = "a job", .complete = Complete::job}},
       .options = {{.names = "--wait", .help = "wait for the result; exit 0 on success, 1 otherwise"}},
       .examples = {{"tend run backup", "start backup now"},
                    {"tend run backup --wait && echo ok", "run it and act on the result"}},
       .run = cmd_run},
      {.name = "pause",
       .group = control,
       .summary = "suspend scheduling, or probing and remedies (e.g. during a deploy)",
       .description = "A paused job is not started by its schedule (ticks are recorded as skipped); a paused "
                      "probe is not probed and not restarted; a paused watch or check raises nothing. With --for "
                      "it resumes by itself.",
       .args = {{.name = "NAME", .help = "a job, probe, watch or check", .complete = Complete::entry}},
       .options = {{.names = "--for",
                    .value = "DURATION",
                    .help = "resume by itself after this long (e.g. 10m, 1h30m)",
                    .example = "10m"}},
       .examples = {{"tend pause api --for 10m", "no probing or restarts during a 10-minute deploy"}},
       .run = cmd_pause},
      {.name = "resume",
       .group = control,
       .summary = "end a pause",
       .args = {{.name = "NAME", .help = "a paused entry", .complete = Complete::entry}},
       .examples = {{"tend resume api", "probe api again"}},
       .run = cmd_resume},
      {.name = "silence",
       .group = control,
       .summary = "mute notifications for a while (alerts are still recorded)",
       .description = "Alerts of the entry (or of all entries with --all) are recorded but not sent until the "
                      "silence ends; what still fires then is sent. A silence always has an end (--for) and "
                      "survives restarts.",
       .args = {{.name = "NAME", .help = "an entry (or --all)", .required = false, .complete = Complete::entry}},
       .options = {{.names = "--all", .help = "every entry"},
                   {.names = "--for",
                    .value = "DURATION",
                    .help = "how long (required; e.g. 2h)",
                    .example = "2h",
                    .required = true},
                   {.names = "--reason",
                    .value = "TEXT",
                    .help = "why, shown in status and the alert log",
                    .example = "deploy"}},
       .examples = {{"tend silence backup --for 2h --reason 'disk swap'", "mute backup for two hours"},
                    {"tend silence --all --for 30m", "mute everything during maintenance"}},
       .run = cmd_silence},
      {.name = "unsilence",
       .group = control,
       .summary = "end a silence",
       .args =
           {{.name = "NAME", .help = "a silenced entry (or --all)", .required = false, .complete = Complete::entry}},
       .options = {{.names = "--all", .help = "end every silence"}},
       .examples = {{"tend unsilence backup", "send backup's alerts again"}},
       .run = cmd_unsilence},
      {.name = "reload",
       .group = control,
       .summary = "re-read the configuration, as SIGHUP",
       .description = "The new configuration is validated completely first; on errors the old one stays in force "
                      "and the errors are printed (exit 1). On success prints what was added, changed and removed.",
       .examples = {{"tend reload", "apply an edited /etc/tend/tend.yaml"}},
       .run = cmd_reload},
      {.name = "test-alert",
       .group = control,
       .summary = "send a test notification now and show the receiver's answer",
       .args = {{.name = "NOTIFIER", .help = "a name from `notifiers:`", .complete = Complete::notifier}},
       .examples = {{"tend test-alert team-slack", "does Slack get it?"}},
       .run = cmd_test_alert},

      {.name = "ping",
       .group = report,
       .summary = "report in for a passive check",
       .description = "Tells a check of `checks:` that its job ran: success (the default), fail, start (a run "
                      "began; its end is due within the check's grace), or --exit CODE (0 success, else "
                      "failure). Prints nothing on success, so cron mails nothing. Gives up after 10 s when the "
                      "daemon does not answer.",
       .args = {{.name = "NAME", .help = "a check", .complete = Complete::check},
                {.name = "WHAT",
                 .help = "start, success or fail (default success)",
                 .required = false,
                 .choices = {"start", "success", "fail"}}},
       .options =
           {{.names = "--exit", .value = "CODE", .help = "report an exit code instead of WHAT", .example = "$?"}},
       .examples = {{"tend ping nightly-backup", "the backup succeeded"},
                    {"/usr/local/bin/backup.sh; tend ping nightly-backup --exit $?", "report the script's result"}},
       .run = cmd_ping},
      {.name = "exec",
       .group = report,
       .summary = "run CMD and report its start, end, exit code and output to a check",
       .description =
           "The drop-in wrapper for a crontab line: runs CMD (argv, no shell; use `sh -c '...'` for pipes) in its "
           "own process group, passes its output through, and reports start, end, exit code, duration and the "
           "output tail to the check NAME. With --timeout the group gets SIGTERM, then SIGKILL 10 s later, and "
           "tend exec exits 124, as timeout(1). It exits with CMD's status whatever the daemon's state: when the "
           "daemon is down CMD still runs.",
       .args = {{.name = "NAME", .help = "a check", .complete = Complete::check},
                {.name = "CMD",
                 .help = "the command and its arguments",
                 .many = true,
                 .after_dashes = true,
                 .complete = Complete::program}},
       .options = {{.names = "--timeout",
                    .value = "DURATION",
                    .help = "stop CMD's process group after this long (exit 124)",
                    .example = "30m"}},
       .examples = {{"tend exec nightly-backup --timeout 30m -- /usr/local/bin/backup.sh",
                     "in a crontab line: report every run of backup.sh"}},
       .run = cmd_exec},

      {.name = "next",
       .group = offline,
       .summary = "next fire times of a schedule (no daemon needed)",
       .description = "Prints the next fire times of a cron expression or macro, one ISO-8601 time with its UTC "
                      "offset a line, with tend's DST rules (a time skipped by spring-forward fires at the jump, "
                      "a repeated one once). --from lists times strictly after the given instant.",
       .args = {{.name = "EXPR", .help = "a schedule: `30 2 * * *`, `*/5 * * * * *`, `@daily`, `@every 10m`"}},
       .options = {{.names = "--tz",
                    .value = "ZONE",
                    .help = "IANA time zone (default: the system's)",
                    .example = "Europe/Berlin",
                    .complete = Complete::zone},
                   {.names = "--from",
                    .value = "TIME",
                    .help = "start after this ISO-8601 time (default: now)",
                    .example = "2026-03-29T00:00:00Z"},
                   {.names = "-n", .value = "COUNT", .help = "how many (default 5)", .example = "5"}},
       .examples = {{"tend next '30 2 * * *' --tz America/New_York --from 2026-03-07T12:00:00Z -n 3",
                     "the DST day: 03:00, then 02:30"},
                    {"tend next @hourly", "the next five hours"}},
       .run = cmd_next},
      {.name = "import-crontab",
       .group = offline,
       .summary = "print tend jobs for a crontab (user or system format)",
       .description =
           "Reads a crontab (FILE, or - for standard input) and prints the `jobs:` section of a tend.yaml that "
           "does the same: schedules and macros (`@reboot` too), `CRON_TZ`/`TZ` as `timezone:`, other "
           "`NAME=value` lines as `env:` of the jobs after them, `MAILTO` as a comment suggesting a notifier, "
           "`timeout N` and `flock -n` prefixes as `timeout:` and `concurrency: forbid`, cron's `%` (the rest "
           "of the line is standard input) as a here-document. Simple commands become `command:` argv, anything "
           "with shell syntax (pipes, redirections, variables) stays a `shell:` string. Names come from the "
           "commands. Comments are kept; a line it cannot map is kept as a comment saying why.\n"
           "\n"
           "A system crontab (/etc/crontab, /etc/cron.d/*) has a user field after the schedule; it is read that "
           "way for those paths, with --system, or when every line's sixth field is a user of this system. "
           "The output passes `tendd --check`.",
       .args = {{.name = "FILE",
                 .help = "the crontab, or - for standard input (default: standard input when it is not a terminal)",
                 .required = false,
                 .complete = Complete::file}},
       .options = {{.names = "--user",
                    .value = "USER",
                    .help = "a user crontab, run as USER (`user:` on every job)",
                    .example = "www-data"},
                   {.names = "--system", .help = "a system crontab: the sixth field is the user"}},
       .examples = {{"crontab -l | tend import-crontab - --user \"$USER\" > ~/jobs.yaml", "your own crontab"},
                    {"tend import-crontab /etc/crontab", "the system crontab, users included"}},
       .run = cmd_import_crontab},
      {.name = "help",
       .group = offline,
       .summary = "usage of tend or of one command",
       .args = {{.name = "COMMAND", .help = "a command", .required = false, .complete = Complete::command}},
       .examples = {{"tend help status", "the options of tend status"}},
       .run = cmd_help},
  };

  p.sections = {
      {"Exit status",
       "0\tsuccess\n"
       "1\tthe request failed (the reason is on standard error); `tend run --wait`: the run did not succeed\n"
       "2\tusage error: unknown command or option, missing or invalid value\n"
       "3\ttendd could not be reached (the message names the socket)\n"
       "N\t`tend exec` exits with CMD's status, 124 when --timeout stopped it, 127 when CMD was not found"},
      {"Environment",
       "TEND_SOCKET\tthe socket when --socket is not given\n"
       "NO_COLOR\twhen set and not empty, no colours (see no-color.org)\n"
       "COLUMNS\tthe table width when standard output is not a terminal that reports its size"},
      {"Files", "/run/tend/tend.sock\tthe default socket\n/etc/tend/tend.yaml\tthe daemon's configuration"},
  };
  p.see_also = {"tendd(8)", "tend.yaml(5)", "crontab(5)"};
  return p;
}

}  // namespace

const ProgramSpec& tend_program() {
  static const ProgramSpec program = build();
  return program;
}

}  // namespace tend::cli
