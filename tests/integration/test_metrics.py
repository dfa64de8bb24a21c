"""The real tendd seen from outside (daemon.metrics.listen): /metrics checked by Prometheus's own
promtool, series that move when a job runs and a probe fails, /healthz, the status page and the
status document, `tend metrics` with the same families, a reload that moves and closes the
listener, and `tendd --check` refusing a bad listen value."""

import json
import os
import re
import shutil
import socket
import subprocess
import unittest
import urllib.error
import urllib.request

from harness import CHILD, TENDD, TendTestCase, precondition, wait_for


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, method="GET", timeout=5):
    """(status, content type, body) of one request; status 0 when nothing listens."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()
    except (ConnectionError, urllib.error.URLError, OSError):
        return 0, "", ""


def samples(text):
    """{'name{labels}': value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def families(text):
    return {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")}


def config(daemon, listen, extra=""):
    metrics = f"  metrics: {{listen: \"{listen}\"}}\n" if listen else ""
    return (f"daemon:\n  state_dir: {daemon.state_dir}\n  socket: {daemon.socket}\n  environment: test\n"
            f"  host: test-host\n  timezone: UTC\n  log: {{level: debug}}\n{metrics}{extra}")


def entries(port, dead_port, good_schedule="@daily"):
    """Jobs `good` (exit 0) and `bad` (exit 3), probes `self` (this listener's /healthz: up) and
    `gone` (a dead port, secrets in its URL: down), a check `nightly` (never pinged)."""
    return f"""
jobs:
  good:
    schedule: "{good_schedule}"
    command: [{CHILD}, exit, "0"]
  bad:
    schedule: "@daily"
    command: [{CHILD}, exit, "3"]
probes:
  self:
    url: http://127.0.0.1:{port}/healthz
    interval: 1s
    timeout: 2s
  gone:
    url: http://user:secret@127.0.0.1:{dead_port}/x?token=hunter2
    interval: 1s
    timeout: 1s
    failure_threshold: 1
checks:
  nightly:
    every: 1h
    grace: 5m
"""


class MetricsTest(TendTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.dead_port = free_port()
        self.d = self.daemon("", start=False)
        self.entries = entries(self.port, self.dead_port)
        self.d.write_config(config(self.d, f"127.0.0.1:{self.port}", self.entries))
        self.d.start()
        wait_for(lambda: get(self.port, "/healthz")[0] == 200, what="the listener")

    def metrics(self):
        status, ctype, body = get(self.port, "/metrics")
        self.assertEqual(status, 200, body)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        return body

    def test_promtool_accepts_the_exposition_and_series_follow_the_entries(self):
        precondition(shutil.which("promtool"), "promtool (Debian package prometheus)")
        r = self.d.tend("run", "good", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr + self.dump(self.d))
        r = self.d.tend("run", "bad", "--wait")
        self.assertEqual(r.returncode, 1, r.stderr)
        wait_for(lambda: samples(self.metrics()).get('tend_probe_up{name="gone"}') == 0, what="probe gone down")
        wait_for(lambda: samples(self.metrics()).get('tend_probe_up{name="self"}') == 1, what="probe self up")
        text = self.metrics()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, "", "promtool warned")

        s = samples(text)
        self.assertEqual(s['tend_job_runs_total{name="good",outcome="success"}'], 1)
        self.assertEqual(s['tend_job_runs_total{name="good",outcome="failure"}'], 0)
        self.assertEqual(s['tend_job_runs_total{name="bad",outcome="failure"}'], 1)
        self.assertEqual(s['tend_job_run_duration_seconds_count{name="good"}'], 1)
        self.assertEqual(s['tend_job_consecutive_failures{name="bad"}'], 1)
        self.assertIn('tend_job_last_success_timestamp_seconds{name="good"}', s)
        self.assertNotIn('tend_job_last_success_timestamp_seconds{name="bad"}', s)
        self.assertEqual(s['tend_entry_state{kind="probe",name="gone",state="down"}'], 1)
        self.assertGreaterEqual(s['tend_probe_results_total{name="gone",result="down"}'], 1)
        self.assertGreaterEqual(s['tend_probe_latency_seconds_count{name="self"}'], 1)
        self.assertEqual(s['tend_entry_state{kind="check",name="nightly",state="new"}'], 1)
        self.assertEqual(s['tend_entries{kind="job"}'], 2)
        self.assertEqual(s['tend_entries{kind="probe"}'], 2)
        self.assertEqual(s['tend_alerts_firing{severity="critical"}'], 2)  # bad failed, gone down
        self.assertEqual(s['tend_config_reloads_total{result="success"}'], 0)
        self.assertEqual(s["tend_state_writable"], 1)
        self.assertIn('tend_build_info{version="0.1.0"}', s)
        for name in ["tend_loop_lag_seconds_count", "tend_process_open_fds", "tend_process_resident_memory_bytes",
                     "tend_start_time_seconds", "tend_state_write_errors_total"]:
            self.assertIn(name, s)
        # Labels only from names and fixed sets: the probe's URL and its secrets appear nowhere.
        for secret in ["hunter2", "secret", "/x", "token"]:
            self.assertNotIn(secret, text)

        # The series move as the daemon works.
        self.assertEqual(self.d.tend("run", "good", "--wait").returncode, 0)
        wait_for(lambda: samples(self.metrics())['tend_job_runs_total{name="good",outcome="success"}'] == 2,
                 what="the run counter to count the second run")

    def test_healthz_pages_and_status_document(self):
        self.assertEqual(get(self.port, "/healthz")[:3:2], (200, "ok\n"))
        status, ctype, page = get(self.port, "/")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/html"), ctype)
        for name in ["good", "bad", "self", "gone", "nightly"]:
            self.assertIn(name, page)
        self.assertNotIn("hunter2", page)
        self.assertNotIn("<script", page)

        status, ctype, doc = get(self.port, "/api/status")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/json")
        doc = json.loads(doc)
        self.assertEqual({e["name"] for e in doc["entries"]}, {"good", "bad", "self", "gone", "nightly"})
        self.assertNotIn("hunter2", json.dumps(doc))

        self.assertEqual(self.d.tend("run", "bad", "--wait").returncode, 1)
        status, _, page = get(self.port, "/entry/bad")
        self.assertEqual(status, 200)
        self.assertIn("exit 3", page)
        self.assertEqual(get(self.port, "/entry/nope")[0], 404)
        self.assertEqual(get(self.port, "/nope")[0], 404)
        # Nothing there changes state.
        self.assertEqual(get(self.port, "/metrics", method="POST")[0], 405)
        self.assertEqual(get(self.port, "/entry/good", method="DELETE")[0], 405)
        self.assertFalse(self.d.entry("good")["paused"])

    def test_tend_metrics_prints_the_same_families(self):
        # A family appears with its first sample (a probe's first result may come between the two
        # reads on a loaded machine): compare once both probes have answered.
        wait_for(lambda: self.d.entry("self")["state"] == "up" and self.d.entry("gone")["state"] == "down",
                 what="both probes' first results")
        r = self.d.tend("metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(families(r.stdout), families(self.metrics()))
        self.assertIn("tend_job_runs_total", families(r.stdout))
        # tend metrics works without a listener too.
        self.d.write_config(config(self.d, None, self.entries))
        self.assertEqual(self.d.tend("reload").returncode, 0)
        r = self.d.tend("metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('tend_entries{kind="job"} 2', r.stdout)
        self.assertNotIn("tend_http_requests_total", r.stdout)

    def test_reload_moves_and_closes_the_listener(self):
        new_port = free_port()
        self.d.write_config(config(self.d, f"localhost:{new_port}", self.entries))
        r = self.d.tend("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: get(new_port, "/healthz")[0] == 200, what="the new address")
        wait_for(lambda: get(self.port, "/healthz")[0] == 0, what="the old address to close")
        # Scrapes within 250 ms share one render: poll.
        wait_for(lambda: samples(get(new_port, "/metrics")[2]).get('tend_config_reloads_total{result="success"}') == 1,
                 what="the reload to be counted")

        # A rejected reload keeps the listener where it is, and says why.
        self.d.write_config(config(self.d, "example.com:80", self.entries))
        r = self.d.tend("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("daemon.metrics.listen", r.stderr)
        s = wait_for(lambda: (lambda s: s.get('tend_config_reloads_total{result="failure"}') == 1 and s)(
            samples(get(new_port, "/metrics")[2])), what="the rejected reload to be counted")
        self.assertEqual(s["tend_config_last_reload_successful"], 0)

        self.d.write_config(config(self.d, None, self.entries))
        self.assertEqual(self.d.tend("reload").returncode, 0)
        wait_for(lambda: get(new_port, "/healthz")[0] == 0, what="the listener to close")
        self.d.write_config(config(self.d, f"127.0.0.1:{self.port}", self.entries))
        self.assertEqual(self.d.tend("reload").returncode, 0)
        wait_for(lambda: get(self.port, "/healthz")[0] == 200, what="the listener to open again")


class CheckTest(unittest.TestCase):
    def test_check_names_file_line_column_and_key(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tend.yaml")
            with open(path, "w") as f:
                f.write("daemon:\n  metrics:\n    listen: example.com:9717\n")
            r = subprocess.run([TENDD, "--check", path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr + r.stdout, re.escape(path) + r":3:\d+: daemon\.metrics\.listen")
            self.assertIn("IP address or localhost", r.stderr + r.stdout)
            with open(path, "w") as f:
                f.write("daemon:\n  metrics: {listen: '127.0.0.1:9717'}\n")
            r = subprocess.run([TENDD, "--check", path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
