"""The examples that rebuild the systems tend replaces (config/examples/README.md), started: a real
tendd runs each example file briefly, with loopback stand-ins for what it talks to (receiver.py as
Slack, Discord and the push monitor; a real PM2 app; an access log this test writes), and the test
asserts what the example promises.

Each file is used as written, except for the replacements listed in each test (paths, ports, the
daemon's state and socket in the temp dir, and shorter durations where waiting minutes proves
nothing more); a replacement whose text is no longer in the example fails the test, so the test
follows the file. Secrets and the environment label come from the environment (${env:...}), as in
production.
"""

import contextlib
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.request

from harness import SOURCE_DIR, TendTestCase, wait_for
from test_probes_pm2 import free_port

PM2 = shutil.which("pm2")


@contextlib.contextmanager
def environment(**values):
    """tendd inherits the test's environment: set these for the daemons started inside."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class ExamplesLiveTest(TendTestCase):
    def example(self, name, replace=()):
        """The example's text with its daemon state and socket moved into the temp dir, and replace applied."""
        with open(os.path.join(SOURCE_DIR, "config", "examples", name)) as f:
            text = f.read()
        replace = [("  state_dir: /var/lib/tend\n", f"  state_dir: {self.dir}/state\n"),
                   ("  socket: /run/tend/tend.sock\n", f"  socket: {self.dir}/tend.sock\n"), *replace]
        for old, new in replace:
            self.assertIn(old, text, f"config/examples/{name} no longer has {old!r}: update this test")
            text = text.replace(old, new)
        return text

    def start(self, text):
        d = self.daemon("daemon: {}\n", start=False)
        with open(d.config, "w") as f:
            f.write(text)
        return d.start()

    @staticmethod
    def texts(rcv):
        """Headlines of what a Slack (text) or Discord (content) receiver got."""
        return [(r.json or {}).get("text") or (r.json or {}).get("content") or "" for r in rcv.requests()]

    # ---- (a) the nightly batch job behind a shell wrapper ----

    def test_nightly_batch_times_out_retries_and_alerts_the_environments_channel(self):
        prod, staging = self.receiver(), self.receiver()
        script = os.path.join(self.dir, "settle.sh")
        with open(script, "w") as f:
            f.write('echo "settle attempt=$TEND_ATTEMPT APP_ENV=$APP_ENV"\n'
                    'if [ -e ok ]; then echo "settled"; exit 0; fi\n'
                    'if [ "$TEND_ATTEMPT" = 1 ]; then sleep 60; fi\n'   # the first attempt hangs
                    'echo "db connection refused" >&2; exit 3\n')
        text = self.example("nightly-batch.yaml", [
            ("command: [/usr/bin/python3, /opt/batch/settle.py, --date, yesterday]", f"command: [/bin/sh, {script}]"),
            ("workdir: /opt/batch", f"workdir: {self.dir}"),
            ("    user: batch ", "    # user: batch "),   # the test's own user runs it
            ("timeout: 30m ", "timeout: 2s "),
            ("kill_grace: 30s ", "kill_grace: 1s "),
            ("retries: {max: 3, delay: 10s, backoff: fixed}", "retries: {max: 3, delay: 1s, backoff: fixed}"),
        ])
        with environment(TEND_ENVIRONMENT="staging", SLACK_BATCH_URL=prod.url + "/production",
                         SLACK_STAGING_URL=staging.url + "/staging"):
            d = self.start(text)
        r = d.tend("run", "settle", "--wait")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        log = d.log_text()
        self.assertIn("job=settle", log)
        self.assertEqual(log.count("event=START"), 4, self.dump(d))             # the first try and 3 retries
        self.assertRegex(log, r"job=settle run=\d+ attempt=1 event=TIMEOUT")    # the wrapper's TIMEOUT line
        self.assertEqual(log.count("event=RETRY"), 3, self.dump(d))
        self.assertRegex(log, r"job=settle run=\d+ attempt=4 event=FAILURE exit=3")  # its ERROR line
        self.assertIn("APP_ENV=staging", d.tend("output", "settle").stdout)
        (fire,) = staging.wait_for(timeout=30, what="the failure in the staging channel")
        self.assertRegex(fire.json["text"], r"^🚨 \[staging\] FIRING critical · job settle failed")
        self.assertIn("db connection refused", json.dumps(fire.json))
        # The next good run resolves it, in the same channel; production heard nothing.
        open(os.path.join(self.dir, "ok"), "w").close()
        self.assertEqual(d.tend("run", "settle", "--wait").returncode, 0)
        self.assertIn("event=SUCCESS", d.log_text())
        staging.wait_for(lambda r: "RESOLVED" in r.json["text"], timeout=30, what="the resolve")
        self.assertEqual(len(staging.requests()), 2, self.texts(staging))
        self.assertEqual(prod.requests(), [])

    # ---- (b) Celery-style tasks reporting in, per-environment routes, the 9 am report ----

    def test_celery_failures_are_one_alert_routed_by_environment_and_the_report_goes_out(self):
        prod, staging, report = self.receiver(), self.receiver(), self.receiver()
        text = self.example("celery-tasks.yaml")
        with environment(TEND_ENVIRONMENT="staging", SLACK_CELERY_URL=prod.url + "/celery",
                         SLACK_STAGING_URL=staging.url + "/staging", SLACK_REPORT_URL=report.url + "/report"):
            d = self.start(text)
        task = "celery.cleanup-expired-orders"
        for _ in range(4):  # a task failing on every beat: task_failure -> tend ping NAME fail
            r = d.tend("ping", task, "fail")
            self.assertEqual(r.returncode, 0, r.stderr)
        # A crontab line wrapped with tend exec: its exit code and output reach the check.
        r = d.tend("exec", "django.clearsessions", "--", "sh", "-c", "echo 'session table locked'; exit 2")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(d.entry("django.clearsessions")["state"], "failing")
        self.assertEqual(d.tend("ping", task, "success").returncode, 0)
        staging.wait_for(lambda r: task in r.json["text"] and "RESOLVED" in r.json["text"], timeout=30,
                         what="the task's resolve")
        # Delivery is in order per notifier: everything before the resolve has arrived.
        fired = [t for t in self.texts(staging) if task in t and "FIRING" in t]
        self.assertEqual(len(fired), 1, self.texts(staging))     # four failures, one message
        self.assertTrue(fired[0].startswith("⚠️ [staging] FIRING warning"), fired[0])
        staging.wait_for(lambda r: "django.clearsessions" in r.json["text"], timeout=30, what="the exec failure")
        self.assertIn("session table locked",
                      json.dumps([r.json for r in staging.requests() if "django.clearsessions" in r.json["text"]]))
        # The 9 am report, now: to its own channel.
        r = d.tend("run", "report", "--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (digest,) = report.wait_for(timeout=30, what="the daily report")
        self.assertIn("DIGEST", digest.json["text"])
        self.assertIn(task, json.dumps(digest.json))
        self.assertEqual(prod.requests(), [])

    # ---- (c) a PM2 app: probed, restarted, verified, and the restart-loop breaker ----

    @unittest.skipUnless(PM2, "pm2 is not on PATH (the README's test command installs it: npm install -g pm2)")
    def test_pm2_app_is_restarted_verified_and_the_breaker_stops_a_crash_loop(self):
        discord = self.receiver()
        port = free_port()
        home = os.path.join(self.dir, "pm2home")
        flag = os.path.join(self.dir, "broken-at-start")
        app = os.path.join(self.dir, "api.js")
        with open(app, "w") as f:
            f.write(f"""const http = require("http"), fs = require("fs");
let broken = fs.existsSync({json.dumps(flag)});   // a bad deploy: broken from the start
http.createServer((req, res) => {{
  if (req.url === "/break") {{ broken = true; res.end("broken"); return; }}
  res.statusCode = broken ? 500 : 200;
  res.end(JSON.stringify({{status: broken ? "sick" : "ok"}}));
}}).listen({port}, "127.0.0.1");
""")

        def pm2(*args):
            return subprocess.run([PM2, *args], env=dict(os.environ, PM2_HOME=home), capture_output=True,
                                  text=True, timeout=120)

        def restarts():
            for line in reversed(pm2("jlist").stdout.splitlines()):
                if line.startswith("["):
                    return [a["pm2_env"]["restart_time"] for a in json.loads(line) if a["name"] == "api"][0]
            return None

        def get(path):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
            except OSError:
                return 0

        self.addCleanup(lambda: os.path.exists(os.path.join(home, "pm2.pid")) and pm2("kill"))
        r = pm2("start", app, "--name", "api")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: get("/health") == 200, timeout=30, what="the app")
        text = self.example("pm2-app.yaml", [
            ("url: http://127.0.0.1:3000/health", f"url: http://127.0.0.1:{port}/health"),
            ("interval: 30s", "interval: 300ms"),
            ("timeout: 10s ", "timeout: 2s "),
            ("restart: {pm2: api, user: deploy}", "restart: {pm2: api}"),   # pm2 as the test's user
            ("settle: 20s", "settle: 2s"),
        ])
        with environment(PM2_HOME=home, DISCORD_OPS_URL=discord.url + "/discord"):
            d = self.start(text)
        wait_for(lambda: d.entry("api")["state"] == "up", timeout=30, what="the probe up")

        # The app breaks: down after 3 failures, restarted, verified by the probe passing again.
        before = restarts()
        self.assertEqual(get("/break"), 200)
        discord.wait_for(lambda r: "restarted" in r.json["content"], timeout=60,
                         what="the verified restart" + self.dump(d))
        self.assertEqual(restarts(), before + 1)
        wait_for(lambda: d.entry("api")["state"] == "up", timeout=30, what="up again")

        # A bad deploy: broken at every start. Restarts that do not help are failures, and once
        # max_restarts (3, the verified one included) were made in the window the breaker stops
        # restarting and says so.
        open(flag, "w").close()
        self.assertEqual(get("/break"), 200)
        discord.wait_for(lambda r: "restart_limit" in json.dumps(r.json) or "restart limit" in r.json["content"],
                         timeout=120, what="restart_limit" + self.dump(d))
        self.assertEqual(restarts(), before + 3)
        self.assertIn("restart_failed", d.log_text())
        # The breaker holds: a few more probe intervals bring no restart.
        time.sleep(3)
        self.assertEqual(restarts(), before + 3)
        self.assertEqual(d.entry("api")["restarts_in_window"], 3)
        self.assertEqual(d.entry("api")["state"], "down")

    # ---- (d) nginx 5xx error rate ----

    def test_nginx_5xx_rate_warns_at_5_percent_and_is_critical_at_10(self):
        discord = self.receiver()
        access_log = os.path.join(self.dir, "access.log")
        open(access_log, "w").close()
        text = self.example("nginx-5xx.yaml", [("file: /var/log/nginx/access.log", f"file: {access_log}")])
        with environment(DISCORD_OPS_URL=discord.url + "/discord"):
            d = self.start(text)
        wait_for(lambda: "watch=www-5xx event=OPEN" in d.log_text(), timeout=20, what="the log followed" + self.dump(d))

        def append(total, errors):
            with open(access_log, "a") as f:
                for i in range(total):
                    status = 502 if i < errors else 200
                    f.write(f'127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /api/orders?page={i} HTTP/1.1" '
                            f'{status} 512 "-" "curl/7.88.1"\n')

        append(100, 6)   # 6 %: warning
        (warn,) = discord.wait_for(timeout=30, what="the warning")
        self.assertTrue(warn.json["content"].startswith("⚠️ [production] FIRING warning · watch www-5xx"),
                        warn.json["content"])
        self.assertEqual(d.entry("www-5xx")["state"], "warning")
        append(100, 20)  # 26 of 200: 13 %: critical
        crit = discord.wait_for(count=2, timeout=30, what="the critical")[1]
        self.assertTrue(crit.json["content"].startswith("🚨 [production] FIRING critical · watch www-5xx"),
                        crit.json["content"])
        e = d.entry("www-5xx")
        self.assertEqual((e["state"], e["requests"]), ("critical", 200))

    # ---- (e) the heartbeat: the box's own death is noticed ----

    def test_heartbeat_pings_stop_when_the_box_dies_and_the_return_is_reported(self):
        rcv = self.receiver()
        text = self.example("heartbeat.yaml", [
            ("url: \"https://hc-ping.com/", f"url: \"{rcv.url}/ping/"),
            ("interval: 1m", "interval: 1s"),
            ("command: [/usr/local/bin/backup]", "command: [/bin/true]"),
        ])
        with environment(HC_PING_UUID="5a1e-test-uuid", SLACK_WEBHOOK_URL=rcv.url + "/slack",
                         OPS_WEBHOOK_URL=rcv.url + "/ops"):
            d = self.start(text)
            pings = rcv.wait_for(count=3, timeout=30, path_prefix="/ping/5a1e-test-uuid", what="three heartbeats")
            self.assertGreater(pings[2].at - pings[1].at, 0.5)
            # The box dies (as a power cut: no clean stop): the pings stop, which is what the push
            # monitor alerts on.
            d.kill9()
            died = len(rcv.requests("/ping/"))
            time.sleep(3)  # three intervals
            self.assertEqual(len(rcv.requests("/ping/")), died)
            # It comes back: tend reports the unclean start itself, on both daemon routes.
            d.start()
        rcv.wait_for(lambda r: (r.json or {}).get("event") == "unclean_start", path_prefix="/ops", timeout=30,
                     what="unclean_start to the webhook")
        rcv.wait_for(lambda r: "unclean" in json.dumps(r.json).lower(), path_prefix="/slack", timeout=30,
                     what="unclean_start to Slack")
        rcv.wait_for(count=died + 2, timeout=30, path_prefix="/ping/", what="the heartbeat back")


if __name__ == "__main__":
    unittest.main()
