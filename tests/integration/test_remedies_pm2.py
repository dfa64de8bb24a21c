"""The pm2 remedy against a real PM2, through tests/helpers/remedy_driver (one restart, its
Outcome as a JSON line).

Each test runs its own PM2 daemon in a private PM2_HOME under a temp dir, with a tiny node HTTP
app, and kills every PM2 daemon it may have started (`pm2 kill` with the same PM2_HOME) when it
ends, also on failure. The test installs nothing: it needs `pm2` (and node) on PATH, which the
README's test command installs (npm install -g pm2) when missing.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import precondition, wait_for

DRIVER = os.environ.get("TEND_REMEDY_DRIVER", "remedy_driver")
PM2 = shutil.which("pm2")
APP_NAME = "tend-test-app"
SECRET = "tend-secret-value-4711"

APP_JS = """\
const http = require("http");
http.createServer((req, res) => res.end(JSON.stringify({status: "ok", pid: process.pid})))
    .listen(0, "127.0.0.1");
"""


class Pm2RemedyTest(unittest.TestCase):
    def setUp(self):
        precondition(PM2, "pm2 on PATH (the README's test command installs it: npm install -g pm2)")
        self.dir = tempfile.mkdtemp(prefix="tend-pm2-")
        self.homes = []
        self.addCleanup(self.cleanup)  # also when setUp itself fails half-way
        self.home = self.pm2_home("pm2")
        app = os.path.join(self.dir, "app.js")
        with open(app, "w") as f:
            f.write(APP_JS)
        # The secret is in the app's environment, which pm2 jlist shows in full.
        r = self.pm2("start", app, "--name", APP_NAME, extra_env={"TEND_SECRET": SECRET})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: (self.app() or {}).get("status") == "online", what=f"{APP_NAME} online")

    def cleanup(self):
        for home in self.homes:
            # Only where a daemon was started: `pm2 kill` must not be what creates one.
            if os.path.exists(os.path.join(home, "pm2.pid")):
                self.pm2("kill", home=home)
        shutil.rmtree(self.dir, ignore_errors=True)

    def pm2_home(self, name):
        home = os.path.join(self.dir, name)
        self.homes.append(home)
        return home

    def pm2(self, *args, home=None, extra_env=None):
        env = dict(os.environ, PM2_HOME=home or self.home, **(extra_env or {}))
        return subprocess.run([PM2, *args], env=env, capture_output=True, text=True, timeout=120)

    def jlist(self, home=None):
        r = self.pm2("jlist", home=home)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for line in reversed(r.stdout.splitlines()):
            if line.startswith("["):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        raise AssertionError(f"no JSON list in pm2 jlist output: {r.stdout!r}")

    def app(self, home=None):
        for entry in self.jlist(home):
            if entry["name"] == APP_NAME:
                return {"pid": entry["pid"], "restarts": entry["pm2_env"]["restart_time"],
                        "status": entry["pm2_env"]["status"]}
        return None

    def drive(self, *args, home=None):
        env = dict(os.environ, PM2_HOME=home or self.home)
        start = time.monotonic()
        r = subprocess.run([DRIVER, *args], env=env, capture_output=True, text=True, timeout=300)
        wall_ms = int((time.monotonic() - start) * 1000)
        lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
        self.assertEqual(len(lines), 1, f"driver printed {r.stdout!r}, stderr {r.stderr!r}")
        outcome = json.loads(lines[0])
        print(f"\n  remedy_driver {' '.join(args)}: rc={r.returncode} duration_ms={outcome['duration_ms']} "
              f"wall_ms={wall_ms} detail={outcome['detail']!r}")
        return r.returncode, outcome

    def test_restart_counts_and_changes_the_pid(self):
        before = self.app()
        rc, out = self.drive("pm2", APP_NAME)
        self.assertEqual(rc, 0, out)
        self.assertTrue(out["ok"], out)
        after = self.app()
        self.assertEqual(after["restarts"], before["restarts"] + 1)
        self.assertNotEqual(after["pid"], before["pid"])
        self.assertEqual(after["status"], "online")
        self.assertEqual(out["detail"], f"pm2 restart {APP_NAME}: ok (restarts {before['restarts']} -> "
                                        f"{after['restarts']}, pid {before['pid']} -> {after['pid']})")
        self.assertIn(f"$ pm2 restart {APP_NAME}\n", out["output"])
        self.assertNotIn("\x1b[", out["output"])  # colours removed
        self.assertNotIn(SECRET, out["output"])  # the jlist JSON (with the app's env) stays out

    def test_an_app_that_is_not_listed_is_reported_not_restarted(self):
        before = self.app()
        rc, out = self.drive("pm2", "tend-no-such-app")
        self.assertEqual(rc, 1, out)
        self.assertFalse(out["ok"])
        self.assertRegex(out["detail"], r"^pm2 app 'tend-no-such-app' not found in \S+'s pm2 jlist "
                                        rf"\(PM2_HOME={self.home}\)$")
        self.assertNotIn("pm2 restart", out["output"])  # never got that far
        self.assertEqual(self.app(), before)

    def test_a_wrong_pm2_home_is_reported_not_restarted(self):
        before = self.app()
        wrong = self.pm2_home("not-the-pm2-home")
        rc, out = self.drive("pm2", APP_NAME, home=wrong)
        self.assertEqual(rc, 1, out)
        self.assertFalse(out["ok"])
        self.assertIn(f"pm2 app '{APP_NAME}' not found in ", out["detail"])
        self.assertIn(f"(PM2_HOME={wrong})", out["detail"])
        # pm2 started an empty daemon there, and the detail says what that suggests.
        self.assertIn("started an empty one: wrong user or PM2_HOME?", out["detail"])
        self.assertNotIn("restarted", out["detail"])
        self.assertEqual(self.app(), before)

    def test_another_user_uses_its_own_pm2_home_not_ours(self):
        precondition(os.geteuid() == 0, "root, to run pm2 as another user")
        # `nobody` has no home to keep a PM2_HOME in: the remedy must fail there rather than
        # fall back to the daemon's PM2_HOME (where the app is). A user with a real pm2 would need
        # a throwaway account on the host (useradd): not done here.
        before = self.app()
        rc, out = self.drive("--timeout", "60000", "pm2", APP_NAME, "nobody")
        self.assertEqual(rc, 1, out)
        self.assertFalse(out["ok"])
        self.assertTrue(out["detail"].startswith("pm2 jlist as nobody (PM2_HOME="), out["detail"])
        self.assertNotIn(self.home, out["detail"])
        self.assertEqual(self.app(), before)


if __name__ == "__main__":
    unittest.main()
