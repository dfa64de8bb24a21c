"""The web listener under hostile clients, its routes and headers, and its /metrics text checked
by promtool. The server is tests/helpers/web_demo: web::Server with the real renderers over
fixture documents (200 entries on the pages, 10,000 entries' series on /metrics: 14 MB, larger
than any socket buffer, so a client that never reads really blocks the writer).

Throughout every hostile test a separate process fetches /healthz every 25 ms; each test ends by
checking that all of those answered 200, and within 100 ms (see HealthWatch.verdict).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import unittest

from web_harness import (SOURCE_DIR, HealthWatch, WebTestCase, closed_by_server, connect, raise_fd_limit, raw,
                         status_of, wait_for)

HEADER_TIMEOUT_MS = 2000
WRITE_TIMEOUT_MS = 2000
PER_CLIENT = 32


class HostileClients(WebTestCase):
    def setUp(self):
        super().setUp()
        raise_fd_limit(4096)
        self.web = self.demo("--entries", 200, "--metrics-entries", 10000,
                             "--header-timeout-ms", HEADER_TIMEOUT_MS, "--idle-timeout-ms", 5000,
                             "--write-timeout-ms", WRITE_TIMEOUT_MS, "--max-connections", 256,
                             "--max-per-client", PER_CLIENT)
        self.health = HealthWatch(self.web.port, self.dir)
        self.on_cleanup(self.health.stop)
        wait_for(lambda: len(self.health.results()) >= 3, what="the first /healthz probes")

    def assert_healthy_throughout(self):
        # A few more probes after the attack, then judge them all.
        n = len(self.health.results())
        wait_for(lambda: len(self.health.results()) >= max(n + 5, 15), what="more /healthz probes")
        results = self.health.stop()
        ms = sorted(r[0] for r in results)
        print(f"\n  /healthz: {len(ms)} probes, median {ms[len(ms) // 2]:.1f} ms, max {ms[-1]:.1f} ms", end=" ")
        verdict = HealthWatch.verdict(results)
        self.assertIsNone(verdict, f"/healthz while under attack: {verdict}\n{self.web.log_text()}")

    def test_request_line_over_8k_gets_414(self):
        r = raw(self.web.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status_of(r), 414, r[:200])
        self.assertIn(b"Connection: close", r)
        # An endless line is answered as soon as it passes the limit.
        s = connect(self.web.port)
        s.sendall(b"GET /" + b"b" * 8300)
        s.settimeout(5)
        self.assertEqual(status_of(s.recv(4096)), 414)
        s.close()
        self.assert_healthy_throughout()

    def test_headers_over_8k_get_431(self):
        r = raw(self.web.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 9000 + b"\r\n\r\n")
        self.assertEqual(status_of(r), 431, r[:200])
        many = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 40) for i in range(300))
        self.assertEqual(status_of(raw(self.web.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")), 431)
        self.assert_healthy_throughout()

    def test_methods_other_than_get_and_head_get_405(self):
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]:
            status, headers, _ = self.web.get("/metrics", method=method)
            self.assertEqual(status, 405, method)
            self.assertEqual(headers.get("allow"), "GET, HEAD", method)
        r = raw(self.web.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
        self.assertEqual(status_of(r), 405)
        r = raw(self.web.port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
        self.assertEqual(status_of(r), 413)
        status, headers, body = self.web.get("/healthz", method="HEAD")
        self.assertEqual((status, headers.get("content-length"), body), (200, "3", b""))
        self.assert_healthy_throughout()

    def test_path_traversal_is_refused(self):
        for path in ["/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/entry/..%2f..%2fetc%2fpasswd",
                     "/entry/%2E%2E", "//etc/passwd", "/./metrics", "/a/../metrics", "/%00", "/%zz"]:
            r = raw(self.web.port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertEqual(status_of(r), 400, path)
            self.assertNotIn(b"root:", r)
        status, _, body = self.web.get("/entry/%2e%2e%2f%2e%2e%2fetc%2fpasswd")
        self.assertEqual(status, 400)
        self.assert_healthy_throughout()

    def test_a_thousand_idle_connections(self):
        socks = []
        try:
            for _ in range(1000):
                socks.append(connect(self.web.port, source="127.0.0.2"))
            # The listener keeps at most PER_CLIENT of them, closing the oldest idle ones to make
            # room; the rest are closed by the header timeout. Every one of them ends closed.
            wait_for(lambda: (lambda st: st["evicted"] + st["timed_out"] >= 1000 - PER_CLIENT)(self.web.stats()),
                     timeout=30, what="idle connections beyond the per-client cap to be closed")
            open_now = self.web.stats()["open"]
            self.assertLessEqual(open_now, PER_CLIENT + 2)  # + the /stats request and a /healthz
            wait_for(lambda: all(closed_by_server(s) for s in socks), timeout=HEADER_TIMEOUT_MS / 1000 + 15,
                     what="every idle connection to be closed")
            self.assertGreaterEqual(self.web.stats()["timed_out"], 1)
        finally:
            for s in socks:
                s.close()
        self.assert_healthy_throughout()

    def test_slowloris_headers_are_cut_off(self):
        socks = [connect(self.web.port, source="127.0.0.3") for _ in range(20)]
        try:
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
            t0 = time.monotonic()
            answered = []
            # One more header byte every 200 ms on every connection: never a full header.
            while time.monotonic() - t0 < HEADER_TIMEOUT_MS / 1000 + 10:
                alive = 0
                for s in socks:
                    try:
                        s.sendall(b"X")
                        s.setblocking(False)
                        data = s.recv(4096)
                        if data:
                            answered.append(data)
                        else:
                            continue
                    except BlockingIOError:
                        alive += 1
                    except OSError:
                        continue
                if alive == 0:
                    break
                time.sleep(0.2)
            took = time.monotonic() - t0
            self.assertEqual(alive, 0, "slow header connections still open")
            self.assertLess(took, HEADER_TIMEOUT_MS / 1000 + 5)
            self.assertFalse([a for a in answered if b" 200 " in a], answered[:3])
        finally:
            for s in socks:
                s.close()
        self.assert_healthy_throughout()

    def test_a_client_that_never_reads(self):
        before = self.web.stats()
        s = connect(self.web.port, rcvbuf=4096)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            # The 14 MB answer fills both socket buffers; with no progress for the write
            # timeout, the listener drops the connection and frees the answer.
            wait_for(lambda: self.web.stats()["timed_out"] > before["timed_out"],
                     timeout=WRITE_TIMEOUT_MS / 1000 + 30, what="the stuck write to time out")
            wait_for(lambda: self.web.stats()["open"] <= 1, what="the stuck connection to be gone")
        finally:
            s.close()
        self.assert_healthy_throughout()


class Routes(WebTestCase):
    def test_pages_documents_and_headers(self):
        web = self.demo("--entries", 50)
        status, headers, body = web.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertIn("script-src", headers["content-security-policy"].replace("default-src 'none'", "script-src"))
        self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])
        self.assertEqual(headers["x-frame-options"], "DENY")
        self.assertIn(b'<meta http-equiv="refresh"', body)
        self.assertNotIn(b"<script", body)

        status, headers, body = web.get("/api/status")
        self.assertEqual((status, headers["content-type"]), (200, "application/json"))
        doc = json.loads(body)
        self.assertEqual(len(doc["entries"]), 50)

        status, _, body = web.get("/entry/probe-00018")
        self.assertEqual(status, 200)
        self.assertIn(b"<svg class=\"chart\"", body)
        status, headers, body = web.get("/entry/no-such-entry")
        self.assertEqual(status, 404)
        self.assertIn(b"Not found", body)
        self.assertEqual(web.get("/nowhere")[0], 404)

        status, headers, body = web.get("/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertNotIn("content-security-policy", headers)

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian package prometheus) is not installed")
    def test_promtool_finds_nothing_to_complain_about(self):
        web = self.demo("--entries", 100, "--metrics-entries", 1000)
        # Until a scrape carries the listener's own counts of earlier requests (a rendered
        # scrape is reused for 500 ms).
        def scrape():
            status, _, body = web.get("/metrics")
            self.assertEqual(status, 200)
            return body if re.search(rb"tend_http_requests_total [1-9]", body) else None
        body = wait_for(scrape, what="a scrape with the listener's figures")
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))
        text = body.decode()
        for kind in ("counter", "gauge", "histogram"):
            self.assertRegex(text, rf"# TYPE tend_\w+ {kind}\n")
        self.assertRegex(text, r'tend_job_run_duration_seconds_bucket\{name="job-00000",le="\+Inf"\} 40\n')
        self.assertRegex(text, r"tend_loop_lag_seconds_count [1-9]")
        self.assertRegex(text, r"tend_http_requests_total [1-9]")

    def test_docs_name_every_series_and_nothing_else(self):
        """docs/metrics.md lists what /metrics serves; the Grafana dashboard uses only those."""
        web = self.demo("--entries", 20)
        _, _, body = web.get("/metrics")
        served = set(re.findall(r"^# TYPE (tend_\w+) ", body.decode(), re.M))
        with open(os.path.join(SOURCE_DIR, "docs", "metrics.md")) as f:
            doc = f.read()
        documented = set(re.findall(r"^\| `(tend_\w+)`", doc, re.M))
        self.assertEqual(served - documented, set(), "served but not documented")
        self.assertEqual(documented - served, set(), "documented but not served by the demo")
        with open(os.path.join(SOURCE_DIR, "docs", "grafana-dashboard.json")) as f:
            dashboard = json.load(f)
        used = set()
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                used |= {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"tend_\w+", target["expr"])}
        self.assertTrue(used)
        self.assertEqual(used - served, set(), "the dashboard queries series tend does not serve")
        if shutil.which("promtool"):
            # Every query parses: promtool checks them as recording rules.
            rules = os.path.join(self.dir, "dashboard-rules.yml")
            exprs = [t["expr"].replace("$instance", ".*") for p in dashboard["panels"] for t in p.get("targets", [])]
            with open(rules, "w") as f:
                f.write("groups:\n  - name: dashboard\n    rules:\n")
                for i, e in enumerate(exprs):
                    f.write(f"      - record: dashboard:q{i}\n        expr: {json.dumps(e)}\n")
            r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
