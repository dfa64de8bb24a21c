"""A real etcd cluster for integration tests: N members of Debian's etcd (package etcd-server) on
loopback ports, each with its own data dir in one temp dir, started and stopped by PID.

Cleanup holds when a test fails: stop_all() (also the context manager's exit and atexit) SIGKILLs
and reaps every member this process started and removes the temp dir; each member is also started
with PR_SET_PDEATHSIG=SIGKILL, so the kernel kills it if the test process dies without cleaning up.
Waiting is polling with deadlines (GET /health), never fixed sleeps.

    with EtcdCluster(3) as etcd:
        etcd.wait_healthy()
        config = f"cluster:\\n  etcd: [{', '.join(etcd.endpoints())}]\\n"
        etcd.kill(0); etcd.stop(1); etcd.start(1); etcd.pause(2); etcd.resume(2)

Run as a script for a cluster by hand (Ctrl-C ends it):  python3 etcd_cluster.py [--members 3]
"""

import atexit
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ETCD = os.environ.get("TEND_ETCD", "/usr/bin/etcd")
PR_SET_PDEATHSIG = 1

_live = set()


def _die_with_parent():
    # Runs in the child between fork and exec.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _free_ports(n):
    """Ports the kernel hands out now, all held at once so they differ."""
    held = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def _base_dir():
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"  # cheap fsync: a loaded machine does not turn into election timeouts
    return None


class EtcdCluster:
    def __init__(self, members=3, tls=None, base_dir=None):
        """tls: None, or a dict with ca, cert, key (server) for https clients with client-cert-auth."""
        if not os.access(ETCD, os.X_OK):
            raise RuntimeError(f"etcd not found at {ETCD} (Debian package etcd-server)")
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="tend-etcd-", dir=base_dir or _base_dir())
        ports = _free_ports(2 * members)
        self.members = []
        for i in range(members):
            self.members.append({"name": f"m{i}", "client": ports[2 * i], "peer": ports[2 * i + 1], "proc": None})
        self.initial = ",".join(f"{m['name']}=http://127.0.0.1:{m['peer']}" for m in self.members)
        _live.add(self)
        try:
            for i in range(members):
                self.start(i)
        except Exception:
            self.stop_all()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()

    def endpoint(self, i):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.members[i]['client']}"

    def endpoints(self):
        return [self.endpoint(i) for i in range(len(self.members))]

    def pid(self, i):
        p = self.members[i]["proc"]
        return p.pid if p else None

    def running(self, i):
        p = self.members[i]["proc"]
        return p is not None and p.poll() is None

    def start(self, i):
        """Start (or restart, on its data dir) member i."""
        m = self.members[i]
        if self.running(i):
            return
        client = self.endpoint(i)
        peer = f"http://127.0.0.1:{m['peer']}"
        args = [ETCD, "--name", m["name"], "--data-dir", os.path.join(self.dir, m["name"]),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", self.initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", f"tend-test-{os.getpid()}", "--logger", "zap", "--log-outputs", "stderr"]
        if self.tls:
            args += ["--cert-file", self.tls["cert"], "--key-file", self.tls["key"], "--client-cert-auth",
                     "--trusted-ca-file", self.tls["ca"]]
        log = open(os.path.join(self.dir, m["name"] + ".log"), "ab")
        try:
            m["proc"] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        finally:
            log.close()

    def _end(self, i, sig, timeout=10.0):
        p = self.members[i]["proc"]
        if p is None:
            return
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        self.members[i]["proc"] = None

    def kill(self, i):
        """SIGKILL member i and reap it."""
        self._end(i, signal.SIGKILL)

    def stop(self, i):
        """SIGTERM member i and reap it (SIGKILL after 10 s)."""
        self._end(i, signal.SIGTERM)

    def pause(self, i):
        os.kill(self.pid(i), signal.SIGSTOP)

    def resume(self, i):
        os.kill(self.pid(i), signal.SIGCONT)

    def stop_all(self):
        for i in range(len(self.members)):
            self._end(i, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)
        _live.discard(self)

    def request(self, i, path, body=None, timeout=2.0):
        """POST (GET without body) to member i's gateway; the parsed JSON, or None on failure."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint(i) + path, data=data, method="GET" if body is None else "POST")
        ctx = None
        if self.tls:
            import ssl
            ctx = ssl.create_default_context(cafile=self.tls["ca"])
            ctx.load_cert_chain(self.tls["client_cert"], self.tls["client_key"])
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                return json.loads(r.read() or b"null")
        except (OSError, ValueError):
            return None

    def healthy(self):
        for i in range(len(self.members)):
            if self.members[i]["proc"] is not None and self.members[i]["proc"].poll() is not None:
                raise RuntimeError(f"etcd m{i} exited:\n{self.log_tail(i)}")
            if self.running(i):
                h = self.request(i, "/health")
                if not h or h.get("health") != "true":
                    return False
        return True

    def wait_healthy(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            time.sleep(0.05)
        raise AssertionError(f"etcd not healthy within {timeout}s:\n" +
                             "\n".join(self.log_tail(i) for i in range(len(self.members))))

    def leader(self):
        """Index of the raft leader now, or None."""
        for i in range(len(self.members)):
            if self.running(i):
                s = self.request(i, "/v3/maintenance/status", {})
                if s and s.get("leader") and s["leader"] == s.get("header", {}).get("member_id"):
                    return i
        return None

    def log_tail(self, i, n=2000):
        try:
            with open(os.path.join(self.dir, self.members[i]["name"] + ".log"), "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""


@atexit.register
def _cleanup():
    for c in list(_live):
        c.stop_all()


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=3)
    a = ap.parse_args()
    with EtcdCluster(a.members) as c:
        c.wait_healthy()
        print(",".join(c.endpoints()), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
