"""A real Prometheus (Debian's prometheus package) scrapes the web listener's /metrics every
second; the test then asks Prometheus's HTTP API for series and compares them with what the
listener's own status document says. The example alert rules of docs/metrics.md are loaded
into the same Prometheus (with their `for:` shortened) and must fire for the failing entries.
"""

import json
import os
import re
import shutil
import subprocess
import unittest
import urllib.parse
import urllib.request

from web_harness import SOURCE_DIR, WebTestCase, free_port, stop_process, wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def alert_rules_from_docs():
    """The ```yaml block of docs/metrics.md that holds `groups:`."""
    with open(os.path.join(SOURCE_DIR, "docs", "metrics.md")) as f:
        text = f.read()
    for block in re.findall(r"```yaml(?: prometheus)?\n(.*?)```", text, re.S):
        if block.startswith("groups:"):
            return block
    raise AssertionError("docs/metrics.md has no alert rules (a ```yaml block starting with groups:)")


@unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
class PrometheusScrapes(WebTestCase):
    def query(self, expr):
        url = f"http://127.0.0.1:{self.prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]["result"]

    def value(self, expr):
        """The value of a one-series query, or None while there is none."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def test_prometheus_scrapes_and_finds_the_series(self):
        web = self.demo("--entries", 200)
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write(re.sub(r"for: \w+", "for: 0s", alert_rules_from_docs()))
        check = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        self.prom_port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [{rules}]
scrape_configs:
  - job_name: tend
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:{web.port}']
""")
        log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.on_cleanup(log.close)
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                                 f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                                 f"--web.listen-address=127.0.0.1:{self.prom_port}"],
                                stdout=log, stderr=log, start_new_session=True)
        self.on_cleanup(lambda: stop_process(prom, timeout=20))

        def ready():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.prom_port}/-/ready", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return prom.poll() is not None and self.fail(f"prometheus exited with {prom.returncode}")
        wait_for(ready, timeout=90, interval=0.2, what="prometheus to be ready")

        # The probe series, against the listener's own status document.
        status = {e["name"]: e for e in json.loads(web.get("/api/status")[2])["entries"]}
        self.assertEqual(status["probe-00003"]["state"], "up")
        self.assertEqual(status["probe-00018"]["state"], "down")
        up = wait_for(lambda: self.value('tend_probe_up{name="probe-00003"}'), timeout=60, interval=0.25,
                      what="tend_probe_up for probe-00003 in Prometheus")
        self.assertEqual(up, 1)
        self.assertEqual(self.value('tend_probe_up{name="probe-00018"}'), 0)
        self.assertEqual(self.value('tend_job_runs_total{name="job-00000",outcome="success"}'), 500)
        self.assertEqual(self.value('tend_entry_state{name="probe-00018",state="down"}'), 1)

        # The target is healthy, and the scrape is live (the loop-lag timer keeps counting).
        with urllib.request.urlopen(f"http://127.0.0.1:{self.prom_port}/api/v1/targets", timeout=10) as r:
            target = json.load(r)["data"]["activeTargets"][0]
        self.assertEqual((target["health"], target["lastError"]), ("up", ""))
        first = self.value("tend_loop_lag_seconds_count")
        wait_for(lambda: (self.value("tend_loop_lag_seconds_count") or 0) > first, timeout=30, interval=0.25,
                 what="tend_loop_lag_seconds_count to grow")

        # The documented alert rules fire for the failing fixture entries.
        def firing(alertname):
            return {r["metric"].get("name") for r in self.query(f'ALERTS{{alertname="{alertname}",alertstate="firing"}}')}
        wait_for(lambda: "probe-00018" in firing("TendProbeDown"), timeout=60, interval=0.5,
                 what="TendProbeDown to fire for probe-00018")
        self.assertNotIn("probe-00003", firing("TendProbeDown"))
        wait_for(lambda: "job-00005" in firing("TendJobFailing"), timeout=30, interval=0.5,
                 what="TendJobFailing to fire for job-00005")


if __name__ == "__main__":
    unittest.main()
