"""Runs tests/helpers/web_demo (the web listener with the real renderers over fixture documents)
and talks HTTP to it from loopback, including from other 127.x source addresses (every 127/8
address is loopback on Linux) so that one "client address" can misbehave while another checks
that the listener still serves.

Every process a test starts is in its own session and is stopped by PID (SIGTERM, then SIGKILL
to its process group) in cleanup, also when the test fails. Waiting is polling with deadlines.
"""

import http.client
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

WEB_DEMO = os.environ.get("TEND_WEB_DEMO", "web_demo")

from harness import SOURCE_DIR, wait_for  # noqa: E402,F401 (re-exported for the web tests)


def free_port():
    """A loopback port nobody listens on right now (for servers that cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def stop_process(proc, timeout=10):
    """SIGTERM by PID, then SIGKILL to the process group; returns the exit code."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
    return proc.returncode


class WebDemo:
    """One web_demo on a loopback port."""

    def __init__(self, workdir, *args):
        self.args = [str(a) for a in args]
        self.log_path = os.path.join(workdir, "web_demo.log")
        self.proc = None
        self.port = None

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([WEB_DEMO, *self.args], stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError(f"web_demo did not start: {self.log_text()}")
            if sel.select(left):
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    raise AssertionError(f"web_demo exited: {self.log_text()}")
                line += chunk
        sel.close()
        assert line.startswith(b"listening "), line
        self.port = int(line.split(b":")[-1])
        return self

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except FileNotFoundError:
            return ""

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, method="GET", headers=None, source=None, timeout=10):
        return request(self.port, path, method=method, headers=headers, source=source, timeout=timeout)

    def stats(self):
        status, _, body = self.get("/stats")
        assert status == 200, status
        return json.loads(body)

    def stop(self):
        rc = stop_process(self.proc)
        if getattr(self, "log", None):
            self.log.close()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        return rc


def request(port, path, method="GET", headers=None, source=None, timeout=10):
    """One request on a fresh connection: (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def connect(port, source="127.0.0.1", rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def raw(port, data, source="127.0.0.1", timeout=10):
    """Send raw bytes, read until the server closes (or timeout): the whole answer."""
    s = connect(port, source)
    s.settimeout(timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before all of an oversized request is sent
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(response):
    """The status code of a raw response, or None when nothing came back."""
    if not response.startswith(b"HTTP/1."):
        return None
    return int(response.split(b" ", 2)[1])


def closed_by_server(sock):
    """True when the server has closed this connection (EOF or reset), without blocking."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except (ConnectionResetError, OSError):
        return True


# A separate process that fetches /healthz on a fresh connection every 25 ms and prints
# "<ms> <status>" per probe: separate, so the test's own work (a thousand sockets) cannot delay
# the measurement through Python's GIL.
_PROBER = r"""
import http.client, sys, time
port = int(sys.argv[1])
while True:
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/healthz")
        r = c.getresponse(); r.read(); status = r.status
        c.close()
    except Exception as e:
        status = 0
    print(f"{(time.monotonic() - t0) * 1000:.1f} {status}", flush=True)
    time.sleep(0.025)
"""


class HealthWatch:
    """Measures /healthz all along a test, from another process."""

    def __init__(self, port, workdir):
        self.path = os.path.join(workdir, "health.txt")
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen([sys.executable, "-c", _PROBER, str(port)], stdout=self.out,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def results(self):
        with open(self.path) as f:
            rows = [line.split() for line in f if line.endswith("\n")]
        return [(float(ms), int(status)) for ms, status in rows]

    def stop(self):
        stop_process(self.proc, timeout=5)
        self.out.close()
        return self.results()

    @staticmethod
    def verdict(results, limit_ms=100.0):
        """None when /healthz answered 200 every time and within limit_ms, else why not.

        Two probes over the limit are forgiven when the next is within it: on a loaded 2-core
        machine the probing process itself is sometimes descheduled for that long (two in a row
        at 196 and 380 ms with clang-tidy and the suite sharing the cores). A listener that stalls
        shows up as a run of slow probes (or failures), and that fails.
        """
        if len(results) < 10:
            return f"only {len(results)} probes ran"
        failed = [r for r in results if r[1] != 200]
        if failed:
            return f"{len(failed)} of {len(results)} probes failed: {failed[:5]}"
        for a, b, c in zip(results, results[1:], results[2:]):
            if a[0] > limit_ms and b[0] > limit_ms and c[0] > limit_ms:
                return f"three probes in a row over {limit_ms} ms: {a[0]} ms, {b[0]} ms, {c[0]} ms"
        ms = sorted(r[0] for r in results)
        if ms[len(ms) // 2] > limit_ms / 2:
            return f"median {ms[len(ms) // 2]} ms"
        return None


class WebTestCase(unittest.TestCase):
    """A temp dir per test; everything started through it is stopped in tearDown."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tend-web-")
        self._cleanups_run = []

    def tearDown(self):
        for fn in reversed(self._cleanups_run):
            try:
                fn()
            except Exception as e:  # cleanup must go on
                print(f"cleanup error: {e}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)

    def on_cleanup(self, fn):
        self._cleanups_run.append(fn)

    def demo(self, *args):
        d = WebDemo(self.dir, *args)
        self.on_cleanup(d.stop)
        return d.start()
