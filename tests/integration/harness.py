"""Runs the real tendd and tend binaries for integration tests.

Every daemon a test starts is in its own process group and is killed (group-wide, by PID) in
tearDown, also when the test fails. Waiting is polling with deadlines, never fixed sleeps.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

TENDD = os.environ.get("TENDD", "tendd")
TEND = os.environ.get("TEND", "tend")
CHILD = os.environ.get("TEND_TEST_CHILD", "tend_test_child")
SOURCE_DIR = os.environ.get("TEND_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Poll predicate until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def pid_alive(pid):
    """True while pid runs (a zombie counts as gone: only its parent's reaping is left)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


MAY_SKIP = os.environ.get("TEND_TESTS_MAY_SKIP") == "1"



def systemd_child(unshare, log_path=None):
    """The pid (as seen from here) of the systemd that `unshare` (a Popen of unshare(1) booting one in
    a PID namespace) started; None while it is not there yet. Raises when unshare has exited, with
    the end of its log when there is one."""
    if unshare.poll() is not None:
        tail = ""
        if log_path:
            with open(log_path, errors="replace") as f:
                tail = ": " + f.read()[-2000:]
        raise AssertionError(f"unshare exited with {unshare.returncode}{tail}")
    children = []
    try:
        for task in os.listdir(f"/proc/{unshare.pid}/task"):
            with open(f"/proc/{unshare.pid}/task/{task}/children") as f:
                children += [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return None
    for pid in children:
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "systemd":
                    return pid
        except FileNotFoundError:
            continue
    return None

def precondition(met, what):
    """A test that needs something of the machine (root, pm2, unshare) fails loudly when it is
    missing: CI runs as root with everything installed, so a silent skip would hide a test that
    never ran. TEND_TESTS_MAY_SKIP=1 (a developer without root) turns the failure into a skip.
    Use in setUp/setUpClass or at the top of a test."""
    if met:
        return
    if MAY_SKIP:
        raise unittest.SkipTest(what)
    raise AssertionError(f"precondition missing: {what} (set TEND_TESTS_MAY_SKIP=1 to skip on a developer machine)")


class Daemon:
    """One tendd on a temp config, state dir and socket."""

    def __init__(self, workdir, config_text, name="tend.yaml", env=None):
        self.workdir = workdir
        self.env = dict(os.environ, **(env or {}))
        self.config = os.path.join(workdir, name)
        self.state_dir = os.path.join(workdir, "state")
        self.socket = os.path.join(workdir, "tend.sock")
        self.log_path = os.path.join(workdir, "tendd.log")
        self.proc = None
        self.write_config(config_text)

    def write_config(self, text):
        header = (f"daemon:\n  state_dir: {self.state_dir}\n  socket: {self.socket}\n"
                  f"  environment: test\n  host: test-host\n  timezone: UTC\n  log: {{level: debug}}\n")
        with open(self.config, "w") as f:
            f.write(text if text.startswith("daemon:") else header + text)

    def start(self, wait_ready=True):
        if getattr(self, "log", None):
            self.log.close()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([TENDD, "--config", self.config], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.env)
        if wait_ready:
            wait_for(lambda: self.proc.poll() is not None or self.tend("status", "--json").returncode == 0,
                     what="tendd to answer on its socket")
            if self.proc.poll() is not None:
                raise AssertionError(f"tendd exited with {self.proc.returncode}:\n{self.log_text()}")
        return self

    def tend(self, *args, timeout=60):
        env = dict(os.environ, TEND_SOCKET=self.socket)
        return subprocess.run([TEND, *args], capture_output=True, text=True, env=env, timeout=timeout)

    def status(self):
        r = self.tend("status", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def entry(self, name):
        for e in self.status()["entries"]:
            if e["name"] == name:
                return e
        raise AssertionError(f"no entry {name}")

    def history(self, name, n=50):
        r = self.tend("history", name, "-n", str(n), "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["runs"]

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.proc.returncode

    def kill9(self):
        """SIGKILL the daemon's whole process group (it and any job it was running)."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)

    def cleanup(self):
        self.kill9()
        if getattr(self, "log", None):
            self.log.close()


class TendTestCase(unittest.TestCase):
    """Gives each test a temp dir and kills every daemon it started."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tend-it-")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.cleanup()
        # The test's own cleanups (a PM2 daemon to kill, a receiver to stop) before its dir goes:
        # unittest would run them after tearDown, when a `pm2 kill` no longer finds its PM2_HOME
        # (a PM2 daemon of test_examples_live outlived its test that way).
        self.doCleanups()
        if self.failed() and os.environ.get("TEND_KEEP_FAILED"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def failed(self):
        """Whether this test has failed so far (Python 3.11 keeps it in the result, not the outcome)."""
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if getattr(outcome, "errors", None) is not None:
            return any(e for e in outcome.errors if e[1])
        result = getattr(outcome, "result", None)
        return bool(result) and any(t is self for t, _ in result.failures + result.errors)

    def receiver(self, **kw):
        """A loopback HTTP receiver (receiver.py) for this test, stopped when it ends."""
        from receiver import Receiver
        r = Receiver(**kw)
        self.addCleanup(r.stop)
        return r

    def daemon(self, config_text, start=True, env=None):
        d = Daemon(self.dir, config_text, env=env)
        self.daemons.append(d)
        if start:
            d.start()
        return d

    def dump(self, d):
        """Log of a daemon, for assertion messages."""
        return "\n--- tendd log ---\n" + d.log_text()[-6000:]
