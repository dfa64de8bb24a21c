"""`tend import-crontab` on a corpus of crontabs (tests/integration/crontabs/): the output passes the
real `tendd --check`, and every imported schedule fires when an independent cron reference
(cron_reference.py, zoneinfo, SPEC's DST rules) says it does, over the whole of 2026 in zones with
both DST transitions, including Australia/Lord_Howe's 30-minute one."""

import datetime as dt
import glob
import os
import re
import subprocess
import tempfile
import time
import unittest

import cron_reference
from harness import SOURCE_DIR, TEND, TENDD

CORPUS = os.path.join(SOURCE_DIR, "tests", "integration", "crontabs")
SYSTEM = {"debian-etc-crontab", "debian-cron.d"}
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
END = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)


def import_crontab(path, *args):
    return subprocess.run([TEND, "import-crontab", path, *args], capture_output=True, text=True, timeout=60)


def jobs_of(yaml_text):
    """(name, schedule, timezone) of each job in the converter's output (its own, fixed layout)."""
    jobs = []
    for m in re.finditer(r'(?m)^  ("?[A-Za-z0-9_.-]+"?):\n    schedule: "([^"]*)"\n(?:    timezone: "([^"]*)"\n)?',
                         yaml_text):
        jobs.append((m.group(1).strip('"'), m.group(2), m.group(3)))
    return jobs


class ImportCrontabTest(unittest.TestCase):
    def corpus(self):
        files = sorted(glob.glob(os.path.join(CORPUS, "*")))
        self.assertGreaterEqual(len(files), 5)
        return files

    def convert(self, path):
        args = ["--system"] if os.path.basename(path) in SYSTEM else ["--user", "app"]
        r = import_crontab(path, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_every_output_passes_tendd_check(self):
        with tempfile.TemporaryDirectory() as d:
            total = 0
            for path in self.corpus():
                r = self.convert(path)
                out = os.path.join(d, os.path.basename(path) + ".yaml")
                with open(out, "w") as f:
                    f.write(r.stdout)
                check = subprocess.run([TENDD, "--check", out], capture_output=True, text=True, timeout=60)
                self.assertEqual(check.returncode, 0, f"{path}:\n{check.stderr}\n--- yaml ---\n{r.stdout}")
                total += len(jobs_of(r.stdout))
                self.assertIn(f"({len(jobs_of(r.stdout))} jobs,", check.stdout)
            self.assertGreater(total, 50)

    def test_debian_etc_crontab(self):
        r = self.convert(os.path.join(CORPUS, "debian-etc-crontab"))
        y = r.stdout
        self.assertIn("(system crontab: the sixth field is the user)", y)
        self.assertIn('  cron.hourly:\n    schedule: "17 * * * *"\n    user: "root"\n    workdir: "/"\n'
                      '    env:\n      SHELL: "/bin/sh"\n'
                      '    command: ["run-parts", "--report", "/etc/cron.hourly"]\n', y)
        self.assertIn('  cron.daily:\n    schedule: "25 6 * * *"\n', y)
        self.assertIn('shell: "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }"', y)
        self.assertIn("  # Example of job definition:\n", y)  # comments are kept
        self.assertEqual(r.stderr, "")

    def test_system_format_is_detected_for_etc_paths_and_users(self):
        # The sixth field of each line names a user of this machine (root): read as a system crontab.
        with tempfile.NamedTemporaryFile("w", suffix=".crontab", delete=False) as f:
            f.write("0 1 * * * root /usr/bin/true\n@daily root /usr/bin/false\n")
        try:
            r = import_crontab(f.name)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn('    user: "root"\n', r.stdout)
            r = import_crontab(f.name, "--user", "app")
            self.assertIn('    user: "app"\n    command: ["root", "/usr/bin/true"]\n', r.stdout)
        finally:
            os.unlink(f.name)

    def test_app_crontab(self):
        r = self.convert(os.path.join(CORPUS, "app-user.crontab"))
        y = r.stdout
        self.assertIn("# MAILTO=ops@example.com: cron mailed job output there.", y)
        self.assertRegex(y, r'  send_payment_notification:\n    schedule: "0 10 \* \* \*"\n    timezone: "Asia/Seoul"\n    user: "app"\n')
        self.assertIn('    timeout: 5m\n    concurrency: forbid\n', y)
        self.assertIn('shell: "pg_dump -Fc app > /backups/app-$(date +%F).dump"', y)
        self.assertIn("<<'TEND_STDIN'\\nSELECT COUNT(*) FROM visits;\\nTEND_STDIN\"", y)
        self.assertIn('shell: "/srv/app/bin/sync --all && touch /var/run/sync.ok"\n', y)
        self.assertIn('    timeout: 2h\n    kill_grace: 30s\n', y)
        self.assertIn('echo \\"${USER} weekly\\" | logger -t app', y)  # a shell variable stays as written
        for reason in ["minute field: 61 is out of range", "never fires", "unknown macro @fortnightly",
                       "not a job, a comment or a NAME=value line"]:
            self.assertIn(reason, y)
        self.assertIn("4 line(s) could not be mapped", r.stderr)

    def test_stdin_and_usage(self):
        path = os.path.join(CORPUS, "odd.crontab")
        with open(path) as f:
            r = subprocess.run([TEND, "import-crontab", "-"], stdin=f, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("from standard input", r.stdout)
        self.assertIn('command: ["flock", "-n", "/tmp/shared.lock", "/usr/bin/a"]', r.stdout)
        self.assertIn('  "true":\n', r.stdout)
        self.assertIn('  true-2:\n', r.stdout)
        r = import_crontab(os.path.join(CORPUS, "no-such-file"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("no-such-file", r.stderr)
        r = import_crontab(path, "--user", "a", "--system")
        self.assertEqual(r.returncode, 2)

    def test_fire_times_match_an_independent_cron_over_a_year_with_dst(self):
        zones = {}

        def zone(name):
            if name not in zones:
                zones[name] = cron_reference.Zone(name, START, END)
            return zones[name]

        lines = instants = 0
        disagreements = []
        started = time.monotonic()
        for path in self.corpus():
            for name, schedule, tz in jobs_of(self.convert(path).stdout):
                spec = cron_reference.parse(schedule)
                if spec is None:
                    continue  # @reboot
                lines += 1
                for zname in sorted(set(ZONES + ([tz] if tz else []))):
                    z = zone(zname)
                    want = cron_reference.fires(spec, z)
                    r = subprocess.run([TEND, "next", schedule, "--tz", zname, "--from", "2026-01-01T00:00:00Z",
                                        "-n", str(len(want) + 1)], capture_output=True, text=True, timeout=120)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    got = []
                    for line in r.stdout.split():
                        t = dt.datetime.fromisoformat(line)
                        # The printed offset is the zone's offset at that instant.
                        if t.utcoffset() != z.offset(t):
                            disagreements.append(f"{name} {schedule!r} {zname}: {line} has the wrong offset")
                        t = t.astimezone(dt.timezone.utc)
                        if t < END:
                            got.append(t)
                    instants += len(want)
                    if got != want:
                        missing = sorted(set(want) - set(got))[:3]
                        extra = sorted(set(got) - set(want))[:3]
                        disagreements.append(f"{os.path.basename(path)}: {name} {schedule!r} in {zname}: "
                                             f"{len(got)} fires, reference {len(want)}; "
                                             f"only reference: {[str(x) for x in missing]}, "
                                             f"only tend: {[str(x) for x in extra]}")
        print(f"\nDST comparison: {lines} imported lines, {instants} fire instants compared in "
              f"{len(zones)} zones over 2026, {len(disagreements)} disagreements, "
              f"{time.monotonic() - started:.1f}s")
        self.assertGreaterEqual(lines, 50)
        self.assertGreater(instants, 1_000_000)
        self.assertEqual(disagreements, [])


if __name__ == "__main__":
    unittest.main()
