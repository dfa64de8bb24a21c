"""HTTP probes through the real tendd against a real loopback server: reasons, isolation,
verified remediation with an exec remedy, the restart limit, TLS."""

import json
import os
import subprocess
import unittest

from harness import CHILD, TendTestCase, wait_for
from targets import Target


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ProbesTest(TendTestCase):
    def setUp(self):
        super().setUp()
        self.target = Target()

    def tearDown(self):
        super().tearDown()
        self.target.stop()

    def probe(self, d, name):
        return d.entry(name)

    def test_one_precise_reason_per_failure(self):
        t = self.target
        closed = t.port + 1 if t.port < 65535 else t.port - 1
        d = self.daemon(f"""
probes:
  ok:        {{url: "{t.url('/ok')}", interval: 500ms, timeout: 2s, failure_threshold: 1}}
  err:       {{url: "{t.url('/status/500')}", interval: 500ms, failure_threshold: 1}}
  hang:      {{url: "{t.url('/hang')}", interval: 1s, timeout: 500ms, failure_threshold: 1}}
  trickle:   {{url: "{t.url('/trickle')}", interval: 2s, timeout: 1s, failure_threshold: 1}}
  refused:   {{url: "http://127.0.0.1:{closed}/", interval: 500ms, failure_threshold: 1}}
  wrongbody: {{url: "{t.url('/body/nope')}", interval: 500ms, failure_threshold: 1, expect: {{body_contains: '"status":"ok"'}}}}
  json:      {{url: "{t.url('/json/status/degraded')}", interval: 500ms, failure_threshold: 1, expect: {{json: {{path: /status, equals: ok}}}}}}
  huge:      {{url: "{t.url('/huge')}", interval: 1s, timeout: 5s, failure_threshold: 1}}
""")
        want = {"ok": ("up", ""), "err": ("down", "status 500"), "hang": ("down", "timeout after 500ms"),
                "trickle": ("down", "timeout after 1s"), "refused": ("down", "connect refused"),
                "wrongbody": ("down", "body mismatch"), "json": ("down", "body mismatch: /status is 'degraded'"),
                "huge": ("up", "")}

        def settled():
            entries = {e["name"]: e for e in d.status()["entries"] if e["kind"] == "probe"}
            return all(entries[n]["state"] == s and entries[n]["reason"].startswith(r) for n, (s, r) in want.items())

        try:
            wait_for(settled, timeout=30, what="every probe's verdict")
        except AssertionError:
            self.fail(json.dumps(d.status()["entries"], indent=1) + self.dump(d))
        e = d.entry("err")
        self.assertGreaterEqual(e["consecutive_failures"], 1)
        self.assertGreaterEqual(d.entry("ok")["latency_ms"], 0)
        # 100 MB bodies are not read: 1 MiB per result, memory stays small (ASan's shadow memory
        # and quarantine make the figure meaningless in the sanitizer build).
        if os.environ.get("TEND_SANITIZED", "OFF").upper() not in ("ON", "1", "TRUE"):
            self.assertLess(rss_kib(d.proc.pid), 60 * 1024)
        runs = d.history("err")
        self.assertEqual(runs[0]["outcome"], "down")
        self.assertEqual(runs[0]["reason"], "status 500")
        self.assertIn("kind=probe name=err event=down status=firing", d.log_text())

    def test_a_hanging_target_delays_no_other_probe(self):
        t = self.target
        lines = [f'  hang: {{url: "{t.url("/hang")}", interval: 1s, timeout: 5s}}']
        for i in range(200):
            lines.append(f'  p{i}: {{url: "{t.url("/ok?p=" + str(i))}", interval: 1s, timeout: 5s}}')
        d = self.daemon("probes:\n" + "\n".join(lines) + "\n")
        # Let every probe run about 8 times, then look at the gaps between each probe's requests.
        wait_for(lambda: len(t.times("/ok")) >= 200 * 8, timeout=60, what="8 rounds")
        gaps = []
        with t.lock:
            by_probe = {}
            for when, path in t.requests:
                by_probe.setdefault(path, []).append(when)
        for path, times in by_probe.items():
            if path.startswith("/ok?p="):
                gaps += [b - a for a, b in zip(times[1:], times[2:])]  # skip the spread-out first one
        gaps.sort()
        p50, p99, worst = gaps[len(gaps) // 2], gaps[int(len(gaps) * 0.99)], gaps[-1]
        print(f"\n200 healthy probes @1s beside a hanging one: interval p50={p50*1000:.1f}ms "
              f"p99={p99*1000:.1f}ms max={worst*1000:.1f}ms over {len(gaps)} intervals")
        # The hanging request holds for 5 s; a probe delayed by it would show a gap of ~5 s.
        self.assertLess(worst, 1.8)
        self.assertGreater(p50, 0.9)
        self.assertLess(p50, 1.1)

    def test_verified_remediation_with_an_exec_remedy(self):
        t = self.target
        heal = os.path.join(self.dir, "healed")
        t.heal_file = heal
        d = self.daemon(f"""
probes:
  app:
    url: "{t.url('/toggle')}"
    interval: 300ms
    failure_threshold: 2
    remedy:
      restart: {{exec: [touch, {heal}]}}
      settle: 500ms
      notify: all
""")
        wait_for(lambda: d.entry("app")["state"] == "up", timeout=30, what="up after the restart")
        runs = d.history("app", n=100)
        restarts = [r for r in runs if r["outcome"] in ("restarted", "restart_failed")]
        self.assertEqual([r["outcome"] for r in restarts], ["restarted"])
        self.assertIn("kind=probe name=app event=restarted status=firing", d.log_text())
        self.assertIn("kind=probe name=app event=down status=resolved", d.log_text())
        self.assertEqual(d.entry("app")["restarts_in_window"], 1)

    def test_restart_loop_stops_at_max_restarts(self):
        t = self.target
        t.healthy = False
        d = self.daemon(f"""
probes:
  broken:
    url: "{t.url('/toggle')}"
    interval: 200ms
    failure_threshold: 1
    remedy:
      restart: {{exec: [{CHILD}, exit, "0"]}}
      settle: 200ms
      max_restarts: 3
      window: 10m
      cooldown: 1h
""")
        wait_for(lambda: "event=restart_limit status=firing" in d.log_text(), timeout=30, what="restart_limit")
        # Keep failing for a while longer: no more restarts, no second restart_limit.
        wait_for(lambda: d.entry("broken")["consecutive_failures"] >= 25, timeout=30, what="more failures")
        log = d.log_text()
        self.assertEqual(log.count("event=RESTART remedy="), 3)
        self.assertEqual(log.count("event=restart_limit status=firing"), 1)
        runs = d.history("broken", n=200)
        self.assertEqual(len([r for r in runs if r["outcome"] == "restart_failed"]), 3)
        self.assertEqual(d.entry("broken")["restarts_in_window"], 3)

    def test_pause_holds_probing(self):
        t = self.target
        d = self.daemon(f"""
probes:
  api: {{url: "{t.url('/ok')}", interval: 200ms}}
""")
        wait_for(lambda: t.times("/ok"), what="a first request")
        self.assertEqual(d.tend("pause", "api", "--for", "1h").returncode, 0)
        n = len(t.times("/ok"))
        wait_for(lambda: d.entry("api")["paused"], what="paused")
        before = len(t.times("/ok"))
        # One full interval of silence is enough evidence that ticks are held (probe or not, the
        # first tick after the pause may already be in flight).
        wait_for(lambda: len(t.times("/ok")) <= before + 1, what="quiet")
        self.assertGreaterEqual(before, n)
        self.assertEqual(d.tend("resume", "api").returncode, 0)
        wait_for(lambda: len(t.times("/ok")) > before + 2, what="probing again")


class TlsProbeTest(TendTestCase):
    def setUp(self):
        super().setUp()
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out",
                        self.cert, "-days", "3", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.target = Target(tls_cert=self.cert, tls_key=self.key)

    def tearDown(self):
        super().tearDown()
        self.target.stop()

    def test_verification_and_expiry_warning(self):
        t = self.target
        d = self.daemon(f"""
probes:
  strict: {{url: "{t.url('/ok')}", interval: 500ms, failure_threshold: 1}}
  lax:    {{url: "{t.url('/ok')}", interval: 500ms, tls: {{verify: false, expiry_warning: 14d}}}}
""")
        wait_for(lambda: d.entry("strict")["state"] == "down" and d.entry("lax")["state"] == "up", timeout=30,
                 what="strict down, lax up")
        self.assertTrue(d.entry("strict")["reason"].startswith("tls: "), d.entry("strict")["reason"])
        wait_for(lambda: "kind=probe name=lax event=cert_expiring status=firing" in d.log_text(), what="cert warning")


if __name__ == "__main__":
    unittest.main()
