"""End to end with real PM2: tendd probes a node app under pm2, the app turns unhealthy, tendd
restarts it through `pm2 restart` (after checking `pm2 jlist`), and the probe comes back up.

The PM2 daemon runs in a private PM2_HOME and is always ended with `pm2 kill` (same PM2_HOME).
"""

import json
import os
import shutil
import socket
import subprocess
import unittest

from harness import TendTestCase, precondition, wait_for

PM2 = shutil.which("pm2")

APP_JS = """\
const http = require("http");
let broken = false;
http.createServer((req, res) => {
  if (req.url === "/break") { broken = true; res.end("broken"); return; }
  res.statusCode = broken ? 500 : 200;
  res.end(JSON.stringify({status: broken ? "sick" : "ok", pid: process.pid}));
}).listen(PORT, "127.0.0.1");
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Pm2ProbeTest(TendTestCase):
    def setUp(self):
        precondition(PM2, "pm2 on PATH (the README's test command installs it: npm install -g pm2)")
        super().setUp()
        self.home = os.path.join(self.dir, "pm2home")
        self.addCleanup(self.kill_pm2)  # runs even when setUp fails half-way (tearDown would not)
        self.port = free_port()
        app = os.path.join(self.dir, "app.js")
        with open(app, "w") as f:
            f.write(APP_JS.replace("PORT", str(self.port)))
        r = self.pm2("start", app, "--name", "tend-e2e-app")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: self.http("/health")[0] == 200, timeout=30, what="the app to answer")

    def kill_pm2(self):
        if os.path.exists(os.path.join(self.home, "pm2.pid")):
            self.pm2("kill")

    def tearDown(self):
        # Before the temp dir (and PM2_HOME with it) is removed: pm2 kill needs PM2_HOME.
        try:
            self.kill_pm2()
        finally:
            super().tearDown()

    def pm2(self, *args):
        env = dict(os.environ, PM2_HOME=self.home)
        return subprocess.run([PM2, *args], env=env, capture_output=True, text=True, timeout=120)

    def restarts(self):
        out = self.pm2("jlist").stdout
        for line in reversed(out.splitlines()):
            if line.startswith("["):
                for app in json.loads(line):
                    if app["name"] == "tend-e2e-app":
                        return app["pm2_env"]["restart_time"], app["pid"]
        return None, None

    def http(self, path):
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, b""
        except OSError:
            return 0, b""

    def test_tendd_restarts_the_pm2_app_and_verifies_it(self):
        before, pid_before = self.restarts()
        os.environ["PM2_HOME"] = self.home  # tendd runs pm2 as its own user with its environment
        try:
            d = self.daemon(f"""
probes:
  app:
    url: "http://127.0.0.1:{self.port}/health"
    interval: 300ms
    timeout: 2s
    failure_threshold: 2
    expect: {{json: {{path: /status, equals: ok}}}}
    remedy:
      restart: {{pm2: tend-e2e-app}}
      settle: 3s
      notify: all
""")
        finally:
            del os.environ["PM2_HOME"]
        wait_for(lambda: d.entry("app")["state"] == "up", timeout=30, what="up")
        self.assertEqual(self.http("/break")[0], 200)
        wait_for(lambda: "event=restarted status=firing" in d.log_text(), timeout=60,
                 what="a verified restart" + self.dump(d))
        after, pid_after = self.restarts()
        self.assertEqual(after, before + 1)
        self.assertNotEqual(pid_after, pid_before)
        wait_for(lambda: d.entry("app")["state"] == "up", timeout=30, what="up again")
        self.assertEqual(self.http("/health")[0], 200)
        restart = [r for r in d.history("app", n=200) if r["outcome"] == "restarted"]
        self.assertEqual(len(restart), 1)
        self.assertIn("pm2 restart tend-e2e-app", restart[0]["reason"])


if __name__ == "__main__":
    unittest.main()
