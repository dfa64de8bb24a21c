"""End to end with a real systemd: tendd runs inside a throwaway namespace whose PID 1 is systemd
(booted as tests/integration/test_remedies_systemd.py describes), probes a transient unit's HTTP
endpoint, and when it fails restarts the unit over D-Bus: the unit's MainPID changes and the probe
is up again. The namespace and everything in it are killed by PID at the end, also on failure.
"""

import os
import shutil
import signal
import subprocess
import time
import unittest
import urllib.request

from harness import TEND, TENDD, precondition, wait_for
from test_probes_pm2 import free_port
from test_remedies_systemd import Namespace, shared_scratch_dir, unshare_problem

SERVICE_PY = """\
import http.server, sys
broken = False
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        global broken
        if self.path == "/break":
            broken = True
        code = 500 if broken else 200
        self.send_response(code); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok" if code == 200 else b"no")
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class SystemdProbeTest(unittest.TestCase):
    def setUp(self):
        precondition(not unshare_problem(), f"a systemd namespace: {unshare_problem()}")
        self.scratch = shared_scratch_dir()
        self.addCleanup(shutil.rmtree, self.scratch, ignore_errors=True)
        self.ns = Namespace()
        self.addCleanup(self.ns.kill)
        self.tendd = None
        self.addCleanup(self.stop_tendd)
        self.ns.boot()

    def stop_tendd(self):
        if self.tendd and self.tendd.poll() is None:
            os.killpg(self.tendd.pid, signal.SIGKILL)
            self.tendd.wait(10)

    def log(self):
        with open(os.path.join(self.scratch, "tendd.log"), errors="replace") as f:
            return f.read()

    def mapped(self, name):
        """Whether tendd (nsenter's child, as the host sees it) has `name` in its address space."""
        with open(f"/proc/{self.tendd.pid}/task/{self.tendd.pid}/children") as f:
            pid = int(f.read().split()[0])
        with open(f"/proc/{pid}/maps") as f:
            return name in f.read()

    def main_pid(self):
        return self.ns.run("systemctl", "show", "-p", "MainPID", "--value", "tend-e2e.service").stdout.strip()

    def get(self, port, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return 0

    def test_tendd_restarts_the_unit_behind_a_failing_probe(self):
        port = free_port()
        svc = os.path.join(self.scratch, "svc.py")
        with open(svc, "w") as f:
            f.write(SERVICE_PY)
        r = self.ns.run("systemd-run", "--unit=tend-e2e", "--property=Type=simple", "/usr/bin/python3", svc, str(port))
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: self.get(port, "/health") == 200, timeout=30, what="the unit's server")
        pid_before = self.main_pid()
        self.assertNotIn(pid_before, ("", "0"))

        tendd = os.path.join(self.scratch, "tendd")
        shutil.copy2(TENDD, tendd)
        config = os.path.join(self.scratch, "tend.yaml")
        sock = os.path.join(self.scratch, "tend.sock")
        with open(config, "w") as f:
            f.write(f"""daemon:
  state_dir: {self.scratch}/state
  socket: {sock}
  log: {{level: debug}}
probes:
  svc:
    url: "http://127.0.0.1:{port}/health"
    interval: 300ms
    failure_threshold: 2
    remedy:
      restart: {{systemd: tend-e2e.service}}
      settle: 1s
      notify: all
""")
        log = open(os.path.join(self.scratch, "tendd.log"), "wb")
        self.addCleanup(log.close)
        self.tendd = subprocess.Popen(["nsenter", "-t", str(self.ns.systemd_pid), "-m", "-p", "-u", "--", tendd,
                                       "--config", config], stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        env = dict(os.environ, TEND_SOCKET=sock)
        status = lambda: subprocess.run([TEND, "status", "--json"], capture_output=True, text=True, env=env)
        wait_for(lambda: '"state":"up"' in status().stdout, timeout=30, what="the probe up" + "\n" + self.log())
        # tendd is not linked against libsystemd: sd-bus is loaded when the first restart needs it.
        self.assertFalse(self.mapped("libsystemd"), "libsystemd mapped before any systemd remedy ran")

        self.assertEqual(self.get(port, "/break"), 500)
        started = time.monotonic()
        wait_for(lambda: self.main_pid() not in (pid_before, "", "0"), timeout=30,
                 what="a new MainPID\n" + self.log())
        wait_for(lambda: "event=restarted status=firing" in self.log(), timeout=30, what="verified restart")
        print(f"\n  unit restarted {time.monotonic() - started:.2f}s after it broke "
              f"(MainPID {pid_before} -> {self.main_pid()})")
        self.assertEqual(self.get(port, "/health"), 200)
        self.assertTrue(self.mapped("libsystemd"))


if __name__ == "__main__":
    unittest.main()
