"""Passive checks through the real tendd and tend: pings keep a check quiet, stopped pings raise
`late` on time, start without end, `tend exec` with false, true, a timeout and a stopped daemon."""

import os
import subprocess
import time
import unittest

from harness import CHILD, TEND, TendTestCase, pid_alive, wait_for

CONFIG = """
checks:
  hb:
    every: 2s
    grace: 1s
  nightly:
    schedule: "0 3 * * *"
    grace: 30m
    severity: warning
"""


class ChecksTest(TendTestCase):
    def test_pings_keep_it_quiet_and_stopped_pings_raise_late_on_time(self):
        d = self.daemon(CONFIG)
        self.assertEqual(d.entry("hb")["state"], "new")
        self.assertEqual(d.entry("nightly")["next_run"][11:], "03:00:00Z")
        for _ in range(6):  # 6 s of pings, one a second: never late
            r = d.tend("ping", "hb")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "")  # quiet: cron mails whatever a job prints
            time.sleep(1)
        last_ping = time.monotonic()
        self.assertEqual(d.entry("hb")["state"], "up")
        self.assertNotIn("name=hb event=late", d.log_text())

        wait_for(lambda: "kind=check name=hb event=late status=firing severity=critical" in d.log_text(), timeout=30,
                 what="the late event")
        elapsed = time.monotonic() - last_ping
        # Due 2s + 1s after the last ping (minus the second we slept after it).
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 20)
        e = d.entry("hb")
        self.assertEqual(e["state"], "late")
        self.assertIn("no report within 2s + 1s grace", e["last_reason"])
        self.assertEqual(d.history("hb")[0]["outcome"], "late")

        r = d.tend("ping", "hb", "success")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.entry("hb")["state"], "up")
        wait_for(lambda: "kind=check name=hb event=late status=resolved" in d.log_text(), what="the resolve")

    def test_start_without_an_end_is_late_as_hung(self):
        d = self.daemon(CONFIG)
        r = d.tend("ping", "hb", "start")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(d.entry("hb")["running"])
        wait_for(lambda: d.entry("hb")["state"] == "late", timeout=30, what="late after the start")
        self.assertRegex(d.entry("hb")["last_reason"], r"started at .*Z, no end after 1s")

    def test_ping_arguments(self):
        d = self.daemon(CONFIG)
        r = d.tend("ping", "hb", "--exit", "4")
        self.assertEqual(r.returncode, 0, r.stderr)
        run = d.history("hb")[0]
        self.assertEqual((run["outcome"], run["exit_code"], run["reason"]), ("failure", 4, "exit 4"))
        self.assertEqual(d.entry("hb")["state"], "failing")
        self.assertEqual(d.tend("ping", "hb", "fail").returncode, 0)
        self.assertEqual(d.entry("hb")["consecutive_failures"], 2)
        r = d.tend("ping", "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown check 'nosuch'", r.stderr)
        for args in (["ping"], ["ping", "hb", "maybe"], ["ping", "hb", "--exit", "300"], ["ping", "hb", "start", "--exit", "1"]):
            self.assertEqual(d.tend(*args).returncode, 2, args)
        for args in (["exec", "hb"], ["exec", "hb", "--"], ["exec", "--", "true"], ["exec", "hb", "--timeout", "5", "--", "true"]):
            self.assertEqual(d.tend(*args).returncode, 2, args)

    def test_exec_false_then_true(self):
        d = self.daemon(CONFIG)
        r = d.tend("exec", "nightly", "--", CHILD, "print", "to-stdout", "eprint", "to-stderr", "exit", "1")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "to-stdout\n")  # passed through, each to its own stream
        self.assertIn("to-stderr", r.stderr)
        run = d.history("nightly")[0]
        self.assertEqual((run["outcome"], run["exit_code"], run["reason"]), ("failure", 1, "exit 1"))
        out = d.tend("output", "nightly")
        self.assertIn("to-stdout", out.stdout)
        self.assertIn("to-stderr", out.stdout)
        self.assertEqual(d.entry("nightly")["state"], "failing")
        self.assertIn("kind=check name=nightly event=failure status=firing severity=warning", d.log_text())

        r = d.tend("exec", "nightly", "--", "false")
        self.assertEqual(r.returncode, 1)
        r = d.tend("exec", "nightly", "--", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        runs = d.history("nightly")
        self.assertEqual([x["outcome"] for x in runs], ["success", "failure", "failure"])
        self.assertEqual(runs[0]["exit_code"], 0)
        self.assertEqual(d.entry("nightly")["state"], "up")
        wait_for(lambda: "kind=check name=nightly event=failure status=resolved" in d.log_text(), what="resolve")

    def test_exec_big_binary_output_is_passed_through_and_its_tail_reported(self):
        d = self.daemon(CONFIG)
        data = os.path.join(self.dir, "big.bin")
        with open(data, "wb") as f:
            f.write(b"".join(b"line %d \x01\xff\xfe \xe2\x82 tab\there\n" % i for i in range(10000)))
        r = subprocess.run([TEND, "exec", "nightly", "--", "cat", data], capture_output=True, timeout=60,
                           env=dict(os.environ, TEND_SOCKET=d.socket))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(data, "rb") as f:
            self.assertEqual(r.stdout, f.read())  # passed through byte for byte
        self.assertEqual(r.stderr, b"")  # reported: the tail was cut to fit the socket's 64 KiB limit
        run = d.history("nightly")[0]
        self.assertEqual((run["outcome"], run["exit_code"]), ("success", 0))
        out = d.tend("output", "nightly")  # invalid UTF-8 became '?' on the way
        self.assertTrue(out.stdout.endswith("line 9999 \x01?? ?? tab\there\n"), out.stdout[-100:])
        self.assertGreater(len(out.stdout), 20000)

    def test_exec_timeout_kills_the_group_and_exits_124(self):
        d = self.daemon(CONFIG)
        started = time.monotonic()
        r = d.tend("exec", "nightly", "--timeout", "1s", "--", CHILD, "fork-grandchild", "sleep", "60000", timeout=60)
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn("timed out after 1s", r.stderr)
        grandchild = int([l for l in r.stdout.splitlines() if l.startswith("grandchild=")][0].split("=")[1])
        wait_for(lambda: not pid_alive(grandchild), what=f"grandchild {grandchild} to be gone")
        run = d.history("nightly")[0]
        self.assertEqual((run["outcome"], run["exit_code"]), ("failure", 124))
        self.assertIn("timeout after 1s", run["reason"])

    def test_exec_stubborn_command_gets_sigkill(self):
        d = self.daemon(CONFIG)
        r = d.tend("exec", "nightly", "--timeout", "500ms", "--", CHILD, "ignore-sigterm", "sleep", "60000", timeout=60)
        self.assertEqual(r.returncode, 124, r.stderr)
        self.assertIn("SIGKILL", d.history("nightly")[0]["reason"])

    def test_exec_with_the_daemon_stopped_still_runs_and_passes_the_status(self):
        d = self.daemon(CONFIG)
        self.assertEqual(d.stop(), 0)
        marker = os.path.join(self.dir, "ran")
        r = d.tend("exec", "nightly", "--", "sh", "-c", f"echo hi; touch {marker}; exit 3")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stdout, "hi\n")
        self.assertTrue(os.path.exists(marker))
        self.assertIn("was not reported", r.stderr)
        self.assertIn("cannot reach tendd", r.stderr)
        r = d.tend("exec", "nightly", "--", CHILD, "raise", "9")
        self.assertEqual(r.returncode, 128 + 9)
        r = d.tend("exec", "nightly", "--", os.path.join(self.dir, "no-such-program"))
        self.assertEqual(r.returncode, 127)
        self.assertIn("No such file or directory", r.stderr)

    def test_state_survives_a_restart(self):
        d = self.daemon(CONFIG.replace("every: 2s", "every: 1h"))
        self.assertEqual(d.tend("ping", "hb").returncode, 0)
        self.assertEqual(d.tend("ping", "nightly", "fail").returncode, 0)
        deadline = d.entry("hb")["deadline"]
        self.assertEqual(d.stop(), 0)
        d.start()
        e = d.entry("hb")
        self.assertEqual(e["state"], "up")
        self.assertEqual(e["deadline"], deadline)
        self.assertEqual(d.entry("nightly")["state"], "failing")


if __name__ == "__main__":
    unittest.main()
