// crontab -> tend jobs: every rule of `tend import-crontab`, each checked on the YAML it writes.
// (tests/integration/test_import_crontab.py feeds the output of a whole corpus to `tendd --check`
// and compares fire times over a year with an independent cron reference.)

#include <catch.hpp>
#include <string>

#include "crontab/convert.hpp"

using tend::crontab::convert;
using tend::crontab::Format;
using tend::crontab::Options;

namespace {

std::string yaml(std::string_view crontab, Options o = {}) { return convert(crontab, o).yaml; }

bool has(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a simple command becomes argv, a shell one stays a string", "[crontab]") {
  const auto y = yaml(
      "0 3 * * * /usr/local/bin/backup.sh --full\n"
      "*/5 * * * * curl -fsS http://127.0.0.1/health | logger -t health\n"
      "15 4 * * 1-5 /usr/bin/php '/var/www/app/artisan' \"schedule:run\"\n");
  CHECK(has(y,
            "  backup:\n    schedule: \"0 3 * * *\"\n    command: [\"/usr/local/bin/backup.sh\", \"--full\"]\n"
            "    concurrency: allow\n"));
  CHECK(has(y,
            "  curl:\n    schedule: \"*/5 * * * *\"\n    shell: \"curl -fsS http://127.0.0.1/health | logger -t "
            "health\"\n"));
  CHECK(
      has(y,
          "  schedule-run:\n    schedule: \"15 4 * * 1-5\"\n    command: [\"/usr/bin/php\", \"/var/www/app/artisan\", "
          "\"schedule:run\"]\n"));
  CHECK(has(y, "  # 0 3 * * * /usr/local/bin/backup.sh --full\n"));  // the original line above each job
}

TEST_CASE("shell syntax stays shell: variables, globs, redirections, builtins, assignments", "[crontab]") {
  const auto y = yaml(
      "0 1 * * * echo $HOME > /tmp/home\n"
      "0 2 * * * rm /tmp/cache/*\n"
      "0 3 * * * cd /srv && ./run\n"
      "0 4 * * * LANG=C sort /x\n"
      "0 5 * * * ~/bin/job\n"
      "0 6 * * * if [ -f /x ]; then /usr/bin/y; fi\n"
      "0 7 * * * echo ${HOME} $${HOME} ${env:X}\n");
  CHECK(has(y, "shell: \"echo $HOME > /tmp/home\"\n"));
  CHECK(has(y, "shell: \"rm /tmp/cache/*\"\n"));
  CHECK(has(y, "shell: \"LANG=C sort /x\"\n"));
  CHECK(has(y, "shell: \"~/bin/job\"\n"));
  CHECK(has(y, "shell: \"if [ -f /x ]; then /usr/bin/y; fi\"\n"));
  CHECK(has(y, "  \"y\":\n"));  // the name skips if/[/then (and `y` is a YAML boolean: quoted)
  // `${HOME}` stays as written; what tend would interpolate is escaped.
  CHECK(has(y, "shell: \"echo ${HOME} $$${HOME} $${env:X}\"\n"));
}

TEST_CASE("cd DIR && CMD becomes workdir", "[crontab]") {
  const auto y = yaml(
      "17 * * * * cd / && run-parts --report /etc/cron.hourly\n"
      "18 * * * * cd /srv && a || b\n");
  CHECK(has(y,
            "  cron.hourly:\n    schedule: \"17 * * * *\"\n    workdir: \"/\"\n    command: [\"run-parts\", "
            "\"--report\", \"/etc/cron.hourly\"]\n"));
  CHECK(has(y, "shell: \"cd /srv && a || b\"\n"));  // `||` would also run when cd fails: kept
}

TEST_CASE("timeout and flock prefixes become settings", "[crontab]") {
  const auto y = yaml(
      "0 * * * * timeout 1h /usr/bin/sync-data\n"
      "5 * * * * timeout -k 30s 2.5m /usr/bin/report\n"
      "10 * * * * flock -n /tmp/a.lock /usr/bin/import --all\n"
      "15 * * * * /usr/bin/flock -xn /tmp/b.lock -c 'pg_dump db | gzip > /backup/db.gz'\n"
      "20 * * * * timeout 10m flock -n /tmp/c.lock /usr/bin/both\n"
      "25 * * * * flock /tmp/d.lock /usr/bin/waits\n"
      "30 * * * * timeout --foreground 5m /usr/bin/fg\n"
      "35 * * * * timeout 5m a; b\n");
  CHECK(has(y, "  sync-data:\n    schedule: \"0 * * * *\"\n    command: [\"/usr/bin/sync-data\"]\n    timeout: 1h\n"));
  CHECK(has(y, "command: [\"/usr/bin/report\"]\n    timeout: 2m30s\n    kill_grace: 30s\n"));
  CHECK(has(y, "command: [\"/usr/bin/import\", \"--all\"]\n    concurrency: forbid\n"));
  CHECK(has(y, "shell: \"pg_dump db | gzip > /backup/db.gz\"\n    concurrency: forbid\n"));
  CHECK(has(y, "command: [\"/usr/bin/both\"]\n    timeout: 10m\n    concurrency: forbid\n"));
  CHECK(has(y, "command: [\"flock\", \"/tmp/d.lock\", \"/usr/bin/waits\"]\n    concurrency: allow\n"));  // blocking
  CHECK(has(y, "command: [\"timeout\", \"--foreground\", \"5m\", \"/usr/bin/fg\"]\n"));
  CHECK(has(y, "shell: \"timeout 5m a; b\"\n"));  // the timeout covers a only: kept
}

TEST_CASE("a lock file shared by several lines keeps its flock", "[crontab]") {
  const auto y = yaml(
      "0 * * * * flock -n /tmp/shared.lock /usr/bin/a\n"
      "30 * * * * flock -n /tmp/shared.lock /usr/bin/b\n");
  CHECK(has(y, "command: [\"flock\", \"-n\", \"/tmp/shared.lock\", \"/usr/bin/a\"]\n"));
  CHECK(has(y, "# flock kept: the lock /tmp/shared.lock is also taken by other lines\n"));
}

TEST_CASE("% starts standard input, \\% is a literal", "[crontab]") {
  const auto y = yaml(
      "0 0 * * * /usr/bin/date +\\%Y-\\%m-\\%d\n"
      "0 1 * * * mail -s report ops%Hello,%the report is ready.%\n"
      "0 2 * * * /usr/bin/cat%\n");
  CHECK(has(y, "command: [\"/usr/bin/date\", \"+%Y-%m-%d\"]\n"));
  CHECK(has(y, "shell: \"{ mail -s report ops\\n} <<'TEND_STDIN'\\nHello,\\nthe report is ready.\\nTEND_STDIN\"\n"));
  CHECK(has(y, "# cron's % input is the here-document\n"));
  // Empty input: stdin is at its end at once, as it is for every tend job.
  CHECK(has(y, "command: [\"/usr/bin/cat\"]\n"));
}

TEST_CASE("% input that a here-document cannot carry is kept as a comment", "[crontab]") {
  const auto r = convert("0 1 * * * echo 'unclosed%input\n", {});
  CHECK(r.unmapped == 1);
  CHECK(has(r.yaml, "  # tend: not imported: the command has an unclosed quote"));
  CHECK(has(r.yaml, "  #   0 1 * * * echo 'unclosed%input\n"));
  // A data line equal to the delimiter picks another one.
  const auto y = yaml("0 1 * * * cat%TEND_STDIN%x\n");
  CHECK(has(y, "<<'TEND_STDIN_2'\\nTEND_STDIN\\nx\\nTEND_STDIN_2\""));
}

TEST_CASE("environment lines, CRON_TZ, TZ, SHELL and MAILTO", "[crontab]") {
  const auto y = yaml(
      "MAILTO=ops@example.com\n"
      "PATH=/usr/local/bin:/usr/bin:/bin\n"
      "0 1 * * * /usr/bin/a\n"
      "CRON_TZ=Europe/Berlin\n"
      "DB_URL = \"postgres://db/app\"\n"
      "0 2 * * * /usr/bin/b\n"
      "SHELL=/bin/bash\n"
      "0 3 * * * source ~/.profile && run-it\n"
      "TZ=Mars/Olympus\n"
      "MAILTO=\"\"\n");
  CHECK(has(y, "# MAILTO=ops@example.com: cron mailed job output there. tend alerts through notifiers instead,\n"));
  CHECK(has(y, "  a:\n    schedule: \"0 1 * * *\"\n    env:\n      PATH: \"/usr/local/bin:/usr/bin:/bin\"\n"));
  CHECK(has(y,
            "  b:\n    schedule: \"0 2 * * *\"\n    timezone: \"Europe/Berlin\"\n    env:\n      PATH: "
            "\"/usr/local/bin:/usr/bin:/bin\"\n      DB_URL: \"postgres://db/app\"\n"));
  CHECK(has(y, "      SHELL: \"/bin/bash\"\n    command: [\"/bin/bash\", \"-c\", \"source ~/.profile && run-it\"]\n"));
  CHECK(has(y, "# tend: not imported: unknown time zone 'Mars/Olympus'"));
  CHECK(has(y, "# MAILTO=\"\": cron mailed nothing."));
}

// Found by fuzz_crontab: cron passes any NAME=value on, tend's env: takes variable names only; the
// setting was written as is and the whole imported file failed `tendd --check`.
TEST_CASE("a setting whose name is no variable name is kept as a comment", "[crontab][fuzz]") {
  const auto r = convert(
      "PA\xffTH=/usr/bin\n"
      "MY-VAR=1\n"
      "2X=1\n"
      "GOOD_1=yes\n"
      "0 1 * * * /usr/bin/a\n",
      {});
  CHECK(r.jobs == 1);
  CHECK(r.unmapped == 3);
  CHECK(has(r.yaml, "# tend: not imported: invalid environment variable name 'MY-VAR'"));
  CHECK(has(r.yaml, "#   2X=1\n"));
  CHECK(has(r.yaml, "    env:\n      GOOD_1: \"yes\"\n    command: [\"/usr/bin/a\"]\n"));
  CHECK_FALSE(has(r.yaml, "PA\xffTH"));  // a comment shows the byte as U+FFFD
}

// Found by fuzz_crontab: `cd /sr<NUL>v/app && ...` became a workdir that failed `tendd --check`.
TEST_CASE("a line with a NUL byte is kept as a comment; a cd prefix takes only a path the loader takes",
          "[crontab][fuzz]") {
  const auto r =
      convert(std::string("0 1 * * * cd /sr\0v/app && ./run\nX=a\0b\n0 2 * * * cd /srv/app && ./ok\n", 68), {});
  CHECK(r.jobs == 1);
  CHECK(r.unmapped == 2);
  CHECK(has(r.yaml, "# tend: not imported: the line contains a NUL byte"));
  CHECK(has(r.yaml, "    workdir: \"/srv/app\"\n"));
}

TEST_CASE("macros and @reboot", "[crontab]") {
  const auto y = yaml("@reboot /usr/bin/warmup\n@DAILY /usr/bin/daily\n@hourly /usr/bin/hourly\n");
  CHECK(has(y, "# @reboot: tend runs it when tendd starts"));
  CHECK(has(y, "schedule: \"@reboot\"\n"));
  CHECK(has(y, "schedule: \"@daily\"\n"));
  CHECK(has(y, "schedule: \"@hourly\"\n"));
}

TEST_CASE("lines that cannot be mapped are kept with the reason", "[crontab]") {
  const auto r = convert(
      "61 * * * * /usr/bin/x\n"
      "0 0 30 2 * /usr/bin/never\n"
      "@fortnightly /usr/bin/y\n"
      "* * * *\n"
      "0 0 * * *\n"
      "@every 5m /usr/bin/z\n",
      {});
  CHECK(r.jobs == 0);
  CHECK(r.unmapped == 6);
  CHECK(has(r.yaml, "# tend: not imported: schedule '61 * * * *': minute field: 61 is out of range 0-59\n"));
  CHECK(has(r.yaml, "schedule '0 0 30 2 *': never fires"));
  CHECK(has(r.yaml, "unknown macro @fortnightly"));
  CHECK(has(r.yaml, "# tend: not imported: no command\n"));
  CHECK(has(r.yaml, "jobs:\n"));
  CHECK(has(r.yaml, "\n  {}\n"));  // still a valid (empty) jobs mapping
}

TEST_CASE("comments and blank lines are kept", "[crontab]") {
  const auto y = yaml("# nightly things\n\n\n# m h dom mon dow command\n0 3 * * * /usr/bin/x\n");
  CHECK(has(y, "jobs:\n  # nightly things\n\n  # m h dom mon dow command\n"));
}

TEST_CASE("system format: the sixth field is the user", "[crontab]") {
  Options o;
  o.format = Format::system;
  const auto y = yaml(
      "17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"
      "@reboot www-data /usr/bin/warm\n",
      o);
  CHECK(has(y, "    user: \"root\"\n    workdir: \"/\"\n"));
  CHECK(has(y, "    schedule: \"@reboot\"\n    user: \"www-data\"\n"));
  CHECK(has(y, "(system crontab: the sixth field is the user)"));
}

TEST_CASE("format detection and --user", "[crontab]") {
  Options o;
  o.is_user = [](std::string_view name) { return name == "root" || name == "backup"; };
  auto r = convert("0 1 * * * root /usr/bin/a\n0 2 * * * backup /usr/bin/b\n", o);
  CHECK(r.format == Format::system);
  r = convert("0 1 * * * root /usr/bin/a\n0 2 * * * /usr/bin/b\n", o);  // one line without a user
  CHECK(r.format == Format::user);
  o.format = Format::user;
  o.user = "app";
  r = convert("0 1 * * * root /usr/bin/a\n", o);
  CHECK(has(r.yaml, "    user: \"app\"\n    command: [\"root\", \"/usr/bin/a\"]\n"));
}

TEST_CASE("names come from the command and are unique", "[crontab]") {
  const auto y = yaml(
      "0 1 * * * /usr/bin/python3 /app/send_payment_notification.py\n"
      "0 2 * * * python3 -u /app/send_payment_notification.py --retry\n"
      "0 3 * * * nice -n 10 ionice -c3 /usr/local/bin/backup-db\n"
      "0 4 * * * test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
      "0 5 * * * sudo -u app /usr/bin/env FOO=1 /opt/app/bin/worker.js\n"
      "0 6 * * * 7z a /b.7z /c\n"
      "0 7 * * * /usr/bin/true\n"
      "0 8 * * * cd /srv/app && ./venv/bin/python manage.py clearsessions\n");
  CHECK(has(y, "  send_payment_notification:\n"));
  CHECK(has(y, "  send_payment_notification-2:\n"));
  CHECK(has(y, "  clearsessions:\n"));  // manage.py's subcommand, not "manage"
  CHECK(has(y, "  backup-db:\n"));
  CHECK(has(y, "  cron.daily:\n"));
  CHECK(has(y, "  worker:\n"));
  CHECK(has(y, "  \"7z\":\n"));
  CHECK(has(y, "  \"true\":\n"));  // a YAML boolean word as a key is quoted
}

TEST_CASE("YAML strings: quotes, backslashes, control bytes and invalid UTF-8", "[crontab]") {
  const auto r = convert("0 1 * * * printf \"a\\\\b\" 'say \"hi\"' \x01\xff\n", {});
  CHECK(has(r.yaml, "\\\\"));
  CHECK(has(r.yaml, "\\\"hi\\\""));
  CHECK(has(r.yaml, "\\x01"));
  CHECK(has(r.yaml, "\xEF\xBF\xBD"));
  CHECK(has(r.yaml, "# invalid UTF-8 in the line was replaced with U+FFFD"));
  CHECK(r.yaml.find('\x01') == std::string::npos);
}

TEST_CASE("CRLF line ends are read as LF", "[crontab]") {
  const auto y = yaml("0 1 * * * /usr/bin/a\r\n");
  CHECK(has(y, "command: [\"/usr/bin/a\"]\n"));
}
