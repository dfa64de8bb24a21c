"""The listener of a real tendd (not web_demo) seen by real clients: Debian's Prometheus scrapes it
and its HTTP API finds the series with the values tend's own /metrics and status show; Debian's
chromium loads its status page and finds every entry with the state `tend status` gives, and the
rows' small charts drawn from the state database; and
/healthz says 503 with the reason while the state database cannot write (its directory a 1 MiB
tmpfs, in tendd's own mount namespace, filled up), then 200 again once there is room.

Every process is started here and stopped by PID or process group in cleanup. Waiting is polling
with deadlines."""

import json
import os
import shutil
import subprocess
import unittest
import urllib.parse
import urllib.request

from cdp import CHROMIUM, Browser
from harness import CHILD, TENDD, TendTestCase, precondition, wait_for
from test_metrics import config, entries, free_port, get, samples
from web_harness import stop_process

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


class RealTendd(TendTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.dead_port = free_port()
        self.d = self.daemon("", start=False)
        # test_metrics' entries, with `good` running every second (Prometheus sees its counter move).
        self.d.write_config(config(self.d, f"127.0.0.1:{self.port}",
                                   entries(self.port, self.dead_port, good_schedule="* * * * * *")))
        self.d.start()
        wait_for(lambda: get(self.port, "/healthz")[0] == 200, what="the listener")
        r = self.d.tend("run", "bad", "--wait")
        self.assertEqual(r.returncode, 1, r.stderr)
        wait_for(lambda: self.d.entry("gone")["state"] == "down", what="probe gone down")
        wait_for(lambda: self.d.entry("self")["state"] == "up", what="probe self up")

    @unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
    def test_prometheus_scrapes_tendd_and_finds_what_tend_shows(self):
        prom_port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: tend
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs: [{{targets: ['127.0.0.1:{self.port}']}}]
""")
        log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.dir}/prom",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=log,
                                start_new_session=True)
        self.addCleanup(lambda: stop_process(prom, timeout=20))

        def value(expr):
            url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    result = json.load(r)["data"]["result"]
            except OSError:
                self.assertIsNone(prom.poll(), "prometheus exited")
                return None
            return float(result[0]["value"][1]) if result else None

        self.assertEqual(wait_for(lambda: value('tend_probe_up{name="self"}') is not None and
                                  value('tend_probe_up{name="self"}') + 1, timeout=90, interval=0.25,
                                  what="tend_probe_up in Prometheus") - 1, 1)
        self.assertEqual(value('tend_probe_up{name="gone"}'), 0)
        self.assertEqual(value('tend_job_runs_total{name="bad",outcome="failure"}'), 1)
        self.assertEqual(value('tend_entry_state{kind="check",name="nightly",state="new"}'), 1)
        # `good` runs every second: Prometheus's latest sample is one of the values tendd served.
        wait_for(lambda: (value('tend_job_runs_total{name="good",outcome="success"}') or 0) >= 2, timeout=30,
                 what="good's runs in Prometheus")
        seen = value('tend_job_runs_total{name="good",outcome="success"}')
        served = samples(get(self.port, "/metrics")[2])['tend_job_runs_total{name="good",outcome="success"}']
        self.assertLessEqual(seen, served)
        self.assertGreaterEqual(seen, served - 3)  # at most a few scrapes behind

    @unittest.skipUnless(os.path.exists(CHROMIUM), "chromium is not installed")
    def test_chromium_shows_every_entry_with_its_state(self):
        # The rows' small charts come from the state database, fetched at most once a minute: the
        # first page may be without them, a later one (the page reloads itself) has them.
        wait_for(lambda: "<svg" in get(self.port, "/")[2], timeout=20, interval=0.5, what="charts on the page")
        browser = Browser(os.path.join(self.dir, "chromium.log"))
        self.addCleanup(browser.close)
        page = browser.new_page()
        browser.navigate(page, f"http://127.0.0.1:{self.port}/")
        charted = browser.evaluate(page, """
            [...document.querySelectorAll('.t-entries tbody tr')].filter(tr => tr.querySelector('svg'))
              .map(tr => tr.querySelector('a.name').textContent)""")
        self.assertIn("bad", charted)  # its run
        self.assertIn("gone", charted)  # its 24 h strip
        rows = browser.evaluate(page, """
            [...document.querySelectorAll('.t-entries tbody tr')].map(tr => [
              tr.querySelector('a.name').textContent, tr.querySelector('.badge').textContent, tr.className])""")
        shown = {name: (state, cls) for name, state, cls in rows}
        expected = {e["name"]: e["state"] for e in self.d.status()["entries"]}
        self.assertEqual(set(shown), set(expected))
        for name in ("bad", "gone", "self", "nightly"):  # `good` may be between running and idle
            self.assertEqual(shown[name][0], expected[name], name)
        self.assertEqual(shown["gone"][1], "bad")
        self.assertEqual(shown["self"][1], "ok")
        browser.navigate(page, f"http://127.0.0.1:{self.port}/entry/bad")
        text = browser.evaluate(page, "document.body.innerText")
        self.assertIn("failure", text)
        self.assertEqual(browser.problems(), [])


class HealthzWhenTheDiskIsFull(TendTestCase):
    def test_503_with_the_reason_while_writes_fail_then_200(self):
        precondition(os.geteuid() == 0, "root (a tmpfs in tendd's own mount namespace)")
        precondition(shutil.which("unshare") and shutil.which("nsenter"), "unshare and nsenter (util-linux)")
        port = free_port()
        d = self.daemon("", start=False)
        d.write_config(config(d, f"127.0.0.1:{port}", f"""
jobs:
  often:
    schedule: "* * * * * *"
    command: [{CHILD}, exit, "0"]
"""))
        os.makedirs(d.state_dir, exist_ok=True)
        d.log = open(d.log_path, "ab")
        # tendd in a mount namespace of its own whose state dir is a 1 MiB tmpfs; `exec` keeps the
        # PID, so cleanup's kill of the process group ends it.
        d.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                   f'mount -t tmpfs -o size=1m tmpfs "{d.state_dir}" && '
                                   f'exec "{TENDD}" --config "{d.config}"'],
                                  stdout=d.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: get(port, "/healthz")[0] == 200, timeout=30, what="healthz 200")

        def inside(cmd):
            return subprocess.run(["nsenter", "-t", str(d.proc.pid), "-m", "--", "sh", "-c", cmd],
                                  capture_output=True, text=True, timeout=60)

        inside(f'dd if=/dev/zero of="{d.state_dir}/fill" bs=64k 2>/dev/null; true')
        status, _, body = wait_for(lambda: (r := get(port, "/healthz"))[0] == 503 and r, timeout=30,
                                   what="healthz 503 with the disk full")
        self.assertIn("state database does not accept writes", body)
        self.assertEqual(samples(get(port, "/metrics")[2])["tend_state_writable"], 0)
        self.assertIsNone(d.proc.poll(), "tendd exited on a full disk")
        self.assertEqual(d.tend("status", "--json").returncode, 0)  # it still answers

        inside(f'rm -f "{d.state_dir}/fill"')
        wait_for(lambda: get(port, "/healthz")[0] == 200, timeout=40, what="healthz 200 once there is room")
        self.assertEqual(samples(get(port, "/metrics")[2])["tend_state_writable"], 1)
        # Once failing, once working again: a nearly full disk (a small commit fits, the next does
        # not) does not make the health, and its alert, flap.
        log = d.log_text()
        self.assertEqual((log.count("event=WRITES_FAILING"), log.count("event=WRITES_RESUMED")), (1, 1), log[-3000:])


if __name__ == "__main__":
    unittest.main()
