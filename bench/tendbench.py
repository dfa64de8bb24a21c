#!/usr/bin/env python3
"""tend against Monit on this machine, same workload, same run (issue 6).

  python3 bench/tendbench.py --build BUILD_DIR            # every scenario, table to bench/results/latest.md
  python3 bench/tendbench.py --build BUILD_DIR --quick    # smoke: every scenario, a few seconds each
  python3 bench/tendbench.py --build BUILD_DIR idle scale # some scenarios (names below)

Scenarios: idle, scale, maxrate, hang, jobs, spawn, restart, statedb, scrape, curve, example, history.
Figures come from the operating system (/proc/PID/stat utime+stime, /proc/PID/status VmRSS/VmHWM)
and from the targets: nginx's access log ($msec $uri $status) and the children's own timestamps
(bench_stamp). Everything runs on 127.0.0.1; every process started here is in its own process
group and is ended by PID (group) when its step ends, also on Ctrl-C or an error. Python 3
stdlib only; installs nginx, monit and wrk from Debian when missing (never starts their system
services).
"""

import argparse
import glob
import json
import math
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TICK = os.sysconf("SC_CLK_TCK")
STARTED = []  # every Proc started, so that a failure anywhere still ends them all


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- setup --------------------------------------------------------------------------------------

def ensure_packages():
    missing = [pkg for pkg, exe in (("nginx", "nginx"), ("monit", "monit"), ("wrk", "wrk"))
               if not shutil.which(exe) and not os.path.exists(f"/usr/sbin/{exe}") and not os.path.exists(f"/usr/bin/{exe}")]
    # The `example` scenario's cron: Debian's busybox-static has crond (the plain busybox does not).
    if "crond" not in subprocess.run(["sh", "-c", "busybox --list 2>/dev/null"], capture_output=True, text=True).stdout.split():
        missing.append("busybox-static")
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log(f"installing {' '.join(missing)} from Debian")
    # policy-rc.d or not, the packages' own services are never used here: each run starts private
    # instances on private configs and ports.
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "install", "-y", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def exe(name):
    for d in ("/usr/sbin", "/usr/bin"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return shutil.which(name) or name


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Proc:
    """A child in its own process group; stop() ends the group (TERM, then KILL), by PID."""

    def __init__(self, argv, log_path, cwd=None):
        self.argv = argv
        self.out = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)
        self.pid = self.p.pid
        STARTED.append(self)

    def alive(self):
        return self.p.poll() is None

    def cpu_s(self):
        """utime + stime of the process itself (not of its reaped children)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def children_cpu_s(self):
        """cutime + cstime: the CPU of the children this process has reaped (its jobs)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / TICK

    def mem_kb(self):
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        return out

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.p.wait(10)
            except ProcessLookupError:
                pass
        self.out.close()
        if self in STARTED:
            STARTED.remove(self)


def stop_all():
    for p in list(reversed(STARTED)):
        try:
            p.stop()
        except Exception as e:  # keep ending the others
            log(f"stopping {p.argv[0]}: {e}")


# --- targets ------------------------------------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 19000; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  log_format bench '$msec $uri $status';
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  server {{
    listen 127.0.0.1:{port} backlog=8192 reuseport;
    access_log {dir}/access.log bench buffer=256k flush=100ms;
    location ~ ^/[a-z]+/health/[0-9]+$ {{ default_type text/plain; return 200 "ok\\n"; }}
    location = /tflaky {{ default_type text/plain; if (-f {dir}/tdown) {{ return 500 "down\\n"; }} return 200 "ok\\n"; }}
    location = /mflaky {{ default_type text/plain; if (-f {dir}/mdown) {{ return 500 "down\\n"; }} return 200 "ok\\n"; }}
  }}
}}
"""


class Nginx:
    """nginx from Debian on 127.0.0.1 with a private prefix: one `return 200` location for every
    /PREFIX/health/N, two switchable /Xflaky locations, and a `$msec $uri $status` access log."""

    def __init__(self, work):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"))
        os.chmod(work, 0o755)  # workers (nobody) stat the flaky switch files in here
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = os.path.join(self.dir, "access.log")
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port))
        self.proc = Proc([exe("nginx"), "-p", self.dir, "-e", os.path.join(self.dir, "error.log"),
                          "-c", os.path.join(self.dir, "nginx.conf")], os.path.join(self.dir, "stdout.log"))
        wait_for(lambda: self._listening(), 10, "nginx")

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def mark(self):
        """A log offset: later reads start here (the buffer is flushed every 100 ms)."""
        time.sleep(0.3)
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def entries(self, since=0, prefix=None):
        """[(msec, uri, status)] logged after offset `since`, optionally only URIs under prefix."""
        time.sleep(0.3)
        out = []
        with open(self.log, "rb") as f:
            f.seek(since)
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                uri = parts[1].decode()
                if prefix and not uri.startswith(prefix):
                    continue
                out.append((float(parts[0]), uri, int(parts[2])))
        return out

    def stop(self):
        self.proc.stop()


class HangTarget:
    """Accepts connections and never answers (until stop)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                return

    def stop(self):
        self.stopping = True
        self.sock.close()
        for c in self.conns:
            c.close()


# --- the two daemons ----------------------------------------------------------------------------

class Tend:
    def __init__(self, build, work, name, body, level="warning", history="{keep_runs: 200, keep_days: 30}"):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.tendd = os.path.join(build, "daemon", "cli", "tendd")
        self.tend = os.path.join(build, "daemon", "cli", "tend")
        self.socket = os.path.join(self.dir, "tend.sock")
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "tend.yaml")
        with open(self.config, "w") as f:
            f.write(f"daemon:\n  state_dir: {self.state}\n  socket: {self.socket}\n  timezone: UTC\n"
                    f"  log: {{level: {level}}}\n  history: {history}\n{body}")
        self.proc = Proc([self.tendd, "--config", self.config], os.path.join(self.dir, "tendd.log"))
        wait_for(lambda: not self.proc.alive() or self._accepting(), 120, "tendd's socket")
        if not self.proc.alive():
            raise RuntimeError(f"tendd exited: see {self.dir}/tendd.log")

    def _accepting(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.socket)
            return True
        except OSError:
            return False

    def cli(self, *args):
        return subprocess.run([self.tend, "--socket", self.socket, *args], capture_output=True, text=True, timeout=60)

    def db_files(self):
        return [p for p in glob.glob(os.path.join(self.state, "*")) if ".db" in os.path.basename(p)]

    def db_bytes(self):
        return sum(os.path.getsize(p) for p in self.db_files())

    def count_runs(self, where="1"):
        main = [p for p in self.db_files() if p.endswith(".db")][0]
        con = sqlite3.connect(f"file:{main}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(f"SELECT count(*) FROM runs WHERE {where}").fetchone()[0]
        finally:
            con.close()

    def stop(self):
        self.proc.stop()


def tend_probes(nginx, prefix, n, interval="1s", timeout="5s", reuse=True, hang_port=None):
    lines = ["probes:"]
    for i in range(n):
        url = f"http://127.0.0.1:{hang_port}/hang" if hang_port and i == 0 else nginx.url(f"{prefix}health/{i}")
        lines.append(f"  p{i}: {{url: \"{url}\", interval: {interval}, timeout: {timeout}, "
                     f"reuse_connection: {'true' if reuse else 'false'}}}")
    return "\n".join(lines) + "\n"


class Monit:
    """Monit from Debian in the foreground (-I) on a private monitrc, pid, id and state files."""

    def __init__(self, work, name, checks):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        rc = os.path.join(self.dir, "monitrc")
        with open(rc, "w") as f:
            f.write(f"set daemon 1\nset pidfile {self.dir}/monit.pid\nset idfile {self.dir}/monit.id\n"
                    f"set statefile {self.dir}/monit.state\nset logfile {self.dir}/monit.log\n{checks}")
        os.chmod(rc, 0o600)
        self.proc = Proc([exe("monit"), "-c", rc, "-I"], os.path.join(self.dir, "stdout.log"))
        time.sleep(0.5)
        if not self.proc.alive():
            raise RuntimeError(f"monit exited: see {self.dir}")

    def stop(self):
        self.proc.stop()


def monit_checks(nginx, prefix, n, timeout=5, hang_port=None):
    out = []
    for i in range(n):
        port, path = (hang_port, "/hang") if hang_port and i == 0 else (nginx.port, f"{prefix}health/{i}")
        out.append(f"check host m{i} with address 127.0.0.1\n"
                   f"  if failed port {port} protocol http request \"{path}\" with timeout {timeout} seconds then alert\n")
    return "".join(out)


# --- figures ------------------------------------------------------------------------------------

def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def med(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else float("nan")


def by_uri(entries, lo, hi):
    out = {}
    for t, uri, _ in entries:
        if lo <= t < hi:
            out.setdefault(uri, []).append(t)
    for v in out.values():
        v.sort()
    return out


def lateness_ms(arrivals, interval):
    """Lateness of each request against its probe's fixed-rate grid (the grid's phase taken from
    the probe's least-late request); ticks are counted from the gaps, so skipped ticks show."""
    out = []
    for arr in arrivals.values():
        if len(arr) < 3:
            continue
        k, res = 0, [0.0]
        for j in range(1, len(arr)):
            k += max(1, round((arr[j] - arr[j - 1]) / interval))
            res.append(arr[j] - arr[0] - k * interval)
        m = min(res)
        out += [(r - m) * 1000 for r in res]
    return out


def gap_excess_ms(arrivals, interval):
    """How much longer than the interval each gap between a probe's requests was."""
    out = []
    for arr in arrivals.values():
        out += [(b - a - interval) * 1000 for a, b in zip(arr, arr[1:])]
    return out


class Window:
    """CPU of some processes across a wall-clock window."""

    def __init__(self, *procs):
        self.procs = procs
        self.t0 = time.time()
        self.c0 = [p.cpu_s() for p in procs]

    def close(self):
        self.t1 = time.time()
        self.cpu = [p.cpu_s() - c for p, c in zip(self.procs, self.c0)]
        self.mem = [p.mem_kb() for p in self.procs]
        return self


def fmt(v, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    try:
        return f"{a / b:.2f}×" if b else "—"
    except TypeError:
        return "—"


class Table:
    def __init__(self, smoke=False):
        self.rows = []
        self.smoke = smoke  # --quick: figures too short to judge a bar by

    def add(self, scenario, figure, tend, monit, bar, met, ratio_text=None, digits=1):
        r = ratio_text if ratio_text is not None else (ratio(tend, monit) if isinstance(tend, (int, float)) and
                                                       isinstance(monit, (int, float)) else "—")
        self.rows.append((scenario, figure, fmt(tend, digits), fmt(monit, digits), r, bar,
                          "—" if met is None else "smoke" if self.smoke else ("met" if met else "**not met**")))

    def markdown(self):
        head = "| scenario | figure | tend | monit | tend/monit | bar | |\n| --- | --- | ---: | ---: | ---: | --- | --- |\n"
        return head + "".join("| " + " | ".join(r) + " |\n" for r in self.rows)


# --- scenarios ----------------------------------------------------------------------------------

def sc_idle(a, work, table, nginx):
    """100 probes @1s: CPU % and RSS, tend (keep-alive, and new connection per probe) and monit
    side by side on the same nginx."""
    dur = 3 if a.quick else 60
    res = {k: [] for k in ("t_cpu", "f_cpu", "m_cpu", "t_rss", "f_rss", "m_rss", "t_anon", "f_anon", "m_anon",
                           "t_rate", "m_rate")}
    for run in range(a.runs):
        d = os.path.join(work, f"idle{run}")
        os.makedirs(d)
        t = Tend(a.build, d, "tend", tend_probes(nginx, "/t/", 100))
        f = Tend(a.build, d, "tendfresh", tend_probes(nginx, "/f/", 100, reuse=False))
        m = Monit(d, "monit", monit_checks(nginx, "/m/", 100))
        try:
            time.sleep(2 if a.quick else 6)
            off = nginx.mark()
            w = Window(t.proc, f.proc, m.proc)
            time.sleep(dur)
            w.close()
            e = nginx.entries(off)
        finally:
            for x in (t, f, m):
                x.stop()
        span = w.t1 - w.t0
        res["t_cpu"].append(100 * w.cpu[0] / span)
        res["f_cpu"].append(100 * w.cpu[1] / span)
        res["m_cpu"].append(100 * w.cpu[2] / span)
        res["t_rss"].append(w.mem[0]["VmRSS"] / 1024)
        res["f_rss"].append(w.mem[1]["VmRSS"] / 1024)
        res["m_rss"].append(w.mem[2]["VmRSS"] / 1024)
        res["t_anon"].append(w.mem[0]["RssAnon"] / 1024)
        res["f_anon"].append(w.mem[1]["RssAnon"] / 1024)
        res["m_anon"].append(w.mem[2]["RssAnon"] / 1024)
        res["t_rate"].append(sum(1 for x in e if w.t0 <= x[0] < w.t1 and x[1].startswith("/t/")) / span)
        res["m_rate"].append(sum(1 for x in e if w.t0 <= x[0] < w.t1 and x[1].startswith("/m/")) / span)
        log(f"idle run {run}: " + ", ".join(f"{k}={v[-1]:.2f}" for k, v in res.items()))
    r = {k: med(v) for k, v in res.items()}
    s = f"100 probes @1s, {dur} s"
    # Bars of issue 14 (CPU and own memory against Monit's in the same run).
    table.add(s, "CPU % (tend keep-alive)", r["t_cpu"], r["m_cpu"], "≤ 0.5× monit", r["t_cpu"] <= 0.5 * r["m_cpu"],
              digits=2)
    table.add(s, "CPU % (tend new conn./probe)", r["f_cpu"], r["m_cpu"], "≤ monit", r["f_cpu"] <= r["m_cpu"], digits=2)
    table.add(s, "RssAnon MB (keep-alive)", r["t_anon"], r["m_anon"], "≤ monit", r["t_anon"] <= r["m_anon"])
    table.add(s, "RssAnon MB (new conn./probe)", r["f_anon"], r["m_anon"], "≤ monit", r["f_anon"] <= r["m_anon"])
    table.add(s, "RSS MB (keep-alive)", r["t_rss"], r["m_rss"], "≤ 2× monit", r["t_rss"] <= 2 * r["m_rss"])
    table.add(s, "RSS MB (new conn./probe)", r["f_rss"], r["m_rss"], "≤ 2× monit", r["f_rss"] <= 2 * r["m_rss"])
    table.add(s, "probes/s achieved", r["t_rate"], r["m_rate"], "100", None)


def measure_probes(a, nginx, work, who, n, reuse=True, warm=6.0, dur=15.0, interval=1.0, interval_text="1s"):
    """One daemon alone on n probes: achieved rate, CPU-ms/probe, RSS, p99 lateness."""
    prefix = {"tend": "/t/" if reuse else "/f/", "monit": "/m/"}[who]
    if who == "tend":
        d = Tend(a.build, work, f"{who}{'' if reuse else 'fresh'}{n}-{interval_text}",
                 tend_probes(nginx, prefix, n, interval=interval_text, reuse=reuse))
    else:
        d = Monit(work, f"monit{n}", monit_checks(nginx, prefix, n))
    try:
        time.sleep(warm)
        off = nginx.mark()
        w = Window(d.proc)
        time.sleep(dur)
        w.close()
        e = nginx.entries(off, prefix)
    finally:
        d.stop()
    span = w.t1 - w.t0
    inwin = [x for x in e if w.t0 <= x[0] < w.t1]
    late = lateness_ms(by_uri(e, w.t0 - 2 * interval, w.t1), interval)
    out = {"rate": len(inwin) / span, "cpu_ms": 1000 * w.cpu[0] / max(1, len(inwin)),
           "cpu_pct": 100 * w.cpu[0] / span, "rss": w.mem[0]["VmRSS"] / 1024, "hwm": w.mem[0]["VmHWM"] / 1024,
           "anon": w.mem[0]["RssAnon"] / 1024, "p99": pct(late, 99), "p50": pct(late, 50)}
    log(f"{who} reuse={reuse} n={n} interval={interval_text}: " + ", ".join(f"{k}={v:.3f}" for k, v in out.items()))
    return out


def sc_scale(a, work, table, nginx):
    """1,000 and 10,000 probes @1s, each daemon alone: tend with a new connection per probe (as
    monit), tend with keep-alive, monit."""
    sizes = [300] if a.quick else [1000, 10000]
    dur = 2 if a.quick else 12
    for n in sizes:
        res = {"fresh": [], "reuse": [], "monit": []}
        for run in range(a.runs):
            d = os.path.join(work, f"scale{n}-{run}")
            os.makedirs(d)
            warm = 1.5 if a.quick else (6 if n <= 1000 else 10)
            res["fresh"].append(measure_probes(a, nginx, d, "tend", n, reuse=False, warm=warm, dur=dur))
            res["reuse"].append(measure_probes(a, nginx, d, "tend", n, reuse=True, warm=warm, dur=dur))
            res["monit"].append(measure_probes(a, nginx, d, "monit", n, warm=warm, dur=dur))
        r = {k: {f: med([x[f] for x in v]) for f in v[0]} for k, v in res.items()}
        s = f"{n:,} probes @1s"
        table.add(s, "probes/s achieved (new conn.)", r["fresh"]["rate"], r["monit"]["rate"], f"{n:,}",
                  r["fresh"]["rate"] >= 0.99 * n if n == 10000 else None, digits=0)
        table.add(s, "probes/s achieved (keep-alive)", r["reuse"]["rate"], r["monit"]["rate"], f"{n:,}",
                  r["reuse"]["rate"] >= 0.99 * n if n == 10000 else None, digits=0)
        table.add(s, "CPU-ms/probe (new conn.)", r["fresh"]["cpu_ms"], r["monit"]["cpu_ms"], "≤ monit's",
                  r["fresh"]["cpu_ms"] <= r["monit"]["cpu_ms"] if n == 1000 else None, digits=3)
        table.add(s, "CPU-ms/probe (keep-alive)", r["reuse"]["cpu_ms"], r["monit"]["cpu_ms"], "(what reuse gives)",
                  None, digits=3)
        table.add(s, "CPU % (new conn. / keep-alive)", f"{fmt(r['fresh']['cpu_pct'])} / {fmt(r['reuse']['cpu_pct'])}",
                  r["monit"]["cpu_pct"], "", None)
        table.add(s, "RSS MB (new conn. / keep-alive)", f"{fmt(r['fresh']['rss'])} / {fmt(r['reuse']['rss'])}",
                  r["monit"]["rss"], "", None)
        table.add(s, "p99 lateness ms (new conn. / keep-alive)",
                  f"{fmt(r['fresh']['p99'])} / {fmt(r['reuse']['p99'])}", r["monit"]["p99"], "", None)


def wrk_ceiling(nginx, seconds):
    r = subprocess.run([exe("wrk"), "-t1", "-c32", f"-d{seconds}s", nginx.url("/w/health/0")],
                       capture_output=True, text=True, timeout=seconds + 30)
    for line in r.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"wrk: {r.stdout} {r.stderr}")


def sc_maxrate(a, work, table, nginx):
    """Highest probe rate tend holds with p99 lateness < 50 ms (1,000 probes, shorter and shorter
    intervals, keep-alive), beside wrk's ceiling on the same nginx."""
    steps = [(1000, "200ms", 0.2)] if a.quick else [(1000, "200ms", 0.2), (1000, "100ms", 0.1),
                                                     (1000, "50ms", 0.05), (1000, "25ms", 0.025),
                                                     (1000, "20ms", 0.02), (1000, "15ms", 0.015)]
    dur = 2 if a.quick else 6
    held, at_held = [], []
    wrk = []
    for run in range(a.runs):
        d = os.path.join(work, f"maxrate{run}")
        os.makedirs(d)
        best = None
        for n, text, iv in steps:
            r = measure_probes(a, nginx, d, "tend", n, reuse=True, warm=1.5 if a.quick else 4, dur=dur, interval=iv,
                               interval_text=text)
            offered = n / iv
            ok = r["p99"] < 50 and r["rate"] >= 0.98 * offered
            if not ok:
                break
            best = (offered, r)
        held.append(best[0] if best else 0)
        at_held.append(best[1] if best else None)
        wrk.append(wrk_ceiling(nginx, 1 if a.quick else 10))
        log(f"maxrate run {run}: held {held[-1]:.0f}/s, wrk {wrk[-1]:.0f}/s")
    hb = med(held)
    x = [r for r in at_held if r]
    table.add("max rate (1,000 probes, keep-alive)", "probes/s held, p99 lateness < 50 ms", hb, "—",
              f"beside wrk: {fmt(med(wrk), 0)}/s", None,
              ratio_text=f"{hb / med(wrk):.2f}× of wrk" if med(wrk) else "—", digits=0)
    if x:
        table.add("max rate (1,000 probes, keep-alive)", "at that rate: p99 lateness ms / CPU %",
                  f"{fmt(med([r['p99'] for r in x]))} / {fmt(med([r['cpu_pct'] for r in x]))}", "—", "", None)
    if not a.quick and hb >= steps[-1][0] / steps[-1][2]:
        table.rows[-1] = table.rows[-1][:5] + ("(highest step tried)",) + table.rows[-1][6:]


def sc_hang(a, work, table, nginx):
    """1 hanging target (timeout 5 s) among 100 probes: lateness added to the other 99, tend and
    monit side by side, against a run without the hanging target."""
    dur = 3 if a.quick else 20
    res = {k: [] for k in ("t_base", "t_hang", "m_base", "m_hang", "t_max", "m_max")}
    for run in range(a.runs):
        for with_hang in (False, True):
            d = os.path.join(work, f"hang{run}-{with_hang}")
            os.makedirs(d)
            target = HangTarget() if with_hang else None
            hp = target.port if target else None
            t = Tend(a.build, d, "tend", tend_probes(nginx, "/t/", 100, hang_port=hp))
            m = Monit(d, "monit", monit_checks(nginx, "/m/", 100, hang_port=hp))
            try:
                time.sleep(1.5 if a.quick else 6)
                off = nginx.mark()
                t0 = time.time()
                time.sleep(dur)
                t1 = time.time()
                e = nginx.entries(off)
            finally:
                t.stop()
                m.stop()
                if target:
                    target.stop()
            key = "hang" if with_hang else "base"
            for who in ("t", "m"):
                arr = {u: v for u, v in by_uri(e, t0, t1).items() if u.startswith(f"/{who}/") and u != f"/{who}/health/0"}
                g = gap_excess_ms(arr, 1.0)
                res[f"{who}_{key}"].append(pct(g, 99))
                if with_hang:
                    res[f"{who}_max"].append(max(g) if g else float("nan"))
        log(f"hang run {run}: " + ", ".join(f"{k}={v[-1]:.1f}" for k, v in res.items()))
    r = {k: med(v) for k, v in res.items()}
    t_add, m_add = r["t_hang"] - r["t_base"], r["m_hang"] - r["m_base"]
    s = "1 hanging target among 100"
    table.add(s, "p99 gap over 1 s, others, ms: hang − baseline", t_add, m_add, "< 5 ms", t_add < 5)
    table.add(s, "p99 gap over 1 s, ms (baseline → with hang)", f"{fmt(r['t_base'])} → {fmt(r['t_hang'])}",
              f"{fmt(r['m_base'])} → {fmt(r['m_hang'])}", "", None)
    table.add(s, "worst gap over 1 s, ms, with hang", r["t_max"], r["m_max"], "", None)


def read_stamps(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                tag, t = line.split()
                out.append((tag, float(t)))
    return out


def sc_jobs(a, work, table, nginx):
    """100 jobs `* * * * * *`: start offset from the second boundary (the child's own clock,
    after fork+exec) p50/p99, and runs lost."""
    dur = 4 if a.quick else 30
    stamp = os.path.join(a.build, "bench", "bench_stamp")
    p50, p99, lost, expected = [], [], [], []
    for run in range(a.runs):
        d = os.path.join(work, f"jobs{run}")
        os.makedirs(d)
        out = os.path.join(d, "stamps")
        body = "jobs:\n" + "".join(f"  j{i}: {{schedule: \"* * * * * *\", command: [{stamp}, {out}, j{i}], timeout: 10s}}\n"
                                   for i in range(100))
        t = Tend(a.build, d, "tend", body)
        try:
            time.sleep(0.5 if a.quick else 2)
            s0 = math.ceil(time.time()) + 1
            time.sleep(dur)
            s1 = math.floor(time.time()) - 1
            time.sleep(1.2)
        finally:
            t.stop()
        seen = {}
        for tag, ts in read_stamps(out):
            sec = math.floor(ts)
            if s0 <= sec < s1:
                seen.setdefault((tag, sec), ts - sec)
        offs = [v * 1000 for v in seen.values()]
        p50.append(pct(offs, 50))
        p99.append(pct(offs, 99))
        expected.append(100 * (s1 - s0))
        lost.append(100 * (s1 - s0) - len(seen))
        log(f"jobs run {run}: p50={p50[-1]:.2f} ms p99={p99[-1]:.2f} ms lost={lost[-1]} of {expected[-1]}")
    s = "100 jobs `* * * * * *`"
    table.add(s, "start offset p50 ms (child's clock)", med(p50), "n/a", "", None, digits=2)
    table.add(s, "start offset p99 ms", med(p99), "n/a", "< 10 ms", med(p99) < 10, digits=2)
    table.add(s, f"runs lost (of {fmt(med(expected), 0)} per run)", med(lost), "n/a", "0", max(lost) == 0, digits=0)
    # The machine's floor for the same burst, nothing of tend in the way (bench/spawn_floor.cpp):
    # posix_spawn of the same stamp from a small process with one and with two threads, and the
    # floor of any design: children forked ahead that only exec at the second.
    floor = os.path.join(a.build, "bench", "bench_spawn_floor")
    if os.path.exists(floor):
        for threads, what in ((1, "posix_spawn, 1 thread"), (2, "posix_spawn, 2 threads"),
                              (0, "forked ahead, only exec at the second")):
            out = os.path.join(work, f"floor{threads}")
            subprocess.run([floor, stamp, out, str(threads), "2" if a.quick else "5"], check=True, timeout=60)
            offs = [(ts - math.floor(ts)) * 1000 for _, ts in read_stamps(out)]
            table.add(s, f"floor without tend ({what}): p50 / p99 ms",
                      f"{fmt(pct(offs, 50), 2)} / {fmt(pct(offs, 99), 2)}", "n/a", "", None)


def sc_spawn(a, work, table, nginx):
    """Job spawn rate: N jobs `* * * * * *` of /bin/true, runs per second that end in `success`
    with their history row written."""
    levels = [200] if a.quick else [1000, 2000]
    dur = 2 if a.quick else 15
    best = []
    cpu = []
    for run in range(a.runs):
        top, top_cpu = 0.0, float("nan")
        for n in levels:
            d = os.path.join(work, f"spawn{run}-{n}")
            os.makedirs(d)
            body = "jobs:\n" + "".join(f"  s{i}: {{schedule: \"* * * * * *\", command: [/bin/true], timeout: 10s}}\n"
                                       for i in range(n))
            t = Tend(a.build, d, "tend", body, history="{keep_runs: 100000, keep_days: 30}")
            try:
                time.sleep(1.5 if a.quick else 3)
                c0, t0 = t.count_runs("outcome = 'success'"), time.time()
                w = Window(t.proc)
                time.sleep(dur)
                w.close()
                c1, t1 = t.count_runs("outcome = 'success'"), time.time()
            finally:
                t.stop()
            rate = (c1 - c0) / (t1 - t0)
            log(f"spawn run {run} offered {n}/s: {rate:.0f} successful runs/s recorded, tendd CPU {100 * w.cpu[0] / (w.t1 - w.t0):.0f}%")
            if rate > top:
                top, top_cpu = rate, 1000 * w.cpu[0] / max(1, c1 - c0)
            if rate < 0.95 * n:
                break
        best.append(top)
        cpu.append(top_cpu)
    table.add("job spawn rate", f"/bin/true runs/s with history (offered {levels[0]}/s, more if held)", med(best), "n/a",
              "≥ 500/s", med(best) >= 500, digits=0)
    table.add("job spawn rate", "tendd CPU-ms per run", med(cpu), "n/a", "", None, digits=3)


def sc_restart(a, work, table, nginx):
    """Probe failure → restart issued: from nginx's $msec of the deciding 500 to the exec
    remedy's own clock (bench_stamp), tend and monit, failure_threshold 1 / 1 cycle, @1s."""
    cycles = 1 if a.quick else 5
    stamp = os.path.join(a.build, "bench", "bench_stamp")
    d = os.path.join(work, "restart")
    os.makedirs(d)
    tfile, mfile = os.path.join(d, "t.stamps"), os.path.join(d, "m.stamps")
    body = (f"probes:\n  flaky: {{url: \"{nginx.url('/tflaky')}\", interval: 1s, timeout: 2s, failure_threshold: 1,\n"
            f"    remedy: {{restart: {{exec: [{stamp}, {tfile}, restart]}}, settle: 2s, max_restarts: 1000, window: 1m}}}}\n")
    checks = (f"check host flaky with address 127.0.0.1\n  if failed port {nginx.port} protocol http request \"/mflaky\" "
              f"with timeout 2 seconds then exec \"{stamp} {mfile} restart\"\n")
    t = Tend(a.build, d, "tend", body)
    m = Monit(d, "monit", checks)
    delays = {"t": [], "m": []}
    try:
        off = nginx.mark()
        time.sleep(1.5 if a.quick else 3)
        for c in range(cycles * max(1, a.runs)):
            n_t, n_m = len(read_stamps(tfile)), len(read_stamps(mfile))
            for x in ("tdown", "mdown"):
                open(os.path.join(nginx.dir, x), "w").close()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and (len(read_stamps(tfile)) == n_t or len(read_stamps(mfile)) == n_m):
                time.sleep(0.02)
            for x in ("tdown", "mdown"):
                os.unlink(os.path.join(nginx.dir, x))
            time.sleep(1.5 if a.quick else 3.5)
        e = nginx.entries(off)
    finally:
        t.stop()
        m.stop()
    for who, path in (("t", tfile), ("m", mfile)):
        fails = sorted(x[0] for x in e if x[1] == f"/{who}flaky" and x[2] == 500)
        for _, ts in read_stamps(path):
            before = [f for f in fails if f <= ts + 0.0005]  # $msec has ms resolution
            if before:
                delays[who].append(max(0.0, (ts - before[-1]) * 1000))
    log(f"restart delays ms: tend {['%.1f' % x for x in delays['t']]} monit {['%.1f' % x for x in delays['m']]}")
    tm, mm = med(delays["t"]), med(delays["m"])
    s = "probe failure → restart issued"
    table.add(s, f"ms from the deciding 500 to the remedy (median of {len(delays['t'])})", tm, mm, "< 5 ms", tm < 5, digits=2)
    table.add(s, "worst of those, ms", max(delays["t"], default=float("nan")), max(delays["m"], default=float("nan")),
              "", None, digits=2)


def sc_statedb(a, work, table, nginx):
    """10,000 probes @1s: growth of the SQLite files per hour of results (extrapolated from a
    short run) and RSS."""
    dur = 3 if a.quick else 180
    n = 1000 if a.quick else 10000
    d = os.path.join(work, "statedb")
    os.makedirs(d)
    t = Tend(a.build, d, "tend", tend_probes(nginx, "/t/", n))
    try:
        time.sleep(2 if a.quick else 10)
        b0, r0, t0 = t.db_bytes(), t.count_runs(), time.time()
        time.sleep(dur)
        b1, r1, t1 = t.db_bytes(), t.count_runs(), time.time()
        mem = t.proc.mem_kb()
    finally:
        t.stop()
    per_h = (b1 - b0) / (t1 - t0) * 3600
    rows_h = (r1 - r0) / (t1 - t0) * 3600
    bpr = (b1 - b0) / max(1, r1 - r0)
    s = f"{n:,} probes, state DB ({dur} s run, extrapolated)"
    bound = 200 * n * bpr  # keep_runs (default 200) rows of every probe
    # Pruning is hourly and SQLite reuses freed pages without shrinking the file: the file holds its
    # largest hour, so growth within an hour is what retention must bound.
    table.add(s, "SQLite growth, MB per hour of results", per_h / 2**20, "n/a", "bounded by retention",
              per_h <= bound, digits=0)
    table.add(s, "rows per hour / bytes per row", f"{rows_h:,.0f} / {bpr:.0f}", "n/a", "", None)
    table.add(s, f"retention bound (keep_runs 200 × {n:,}) ≈ MB", 200 * n * bpr / 2**20, "n/a", "",
              None, digits=0)
    table.add(s, f"RSS MB after {dur} s (VmHWM)", f"{mem['VmRSS'] / 1024:.1f} ({mem['VmHWM'] / 1024:.1f})", "n/a", "", None)


def sc_history(a, work, table, nginx):
    """Memory as history grows: 100 jobs `* * * * * *` (each echoes a line) for 5 minutes. RSS and
    RssAnon after 20 s and at the end, the database's size, tendd's CPU-ms per run. A cache that
    grows to a default maximum shows here, not in the short scenarios."""
    dur = 10 if a.quick else 300
    early, late, cpu = [], [], []
    for run in range(a.runs):
        d = os.path.join(work, f"history{run}")
        os.makedirs(d)
        body = "jobs:\n" + "".join(f"  h{i}: {{schedule: \"* * * * * *\", command: [/bin/echo, line-of-output-{i}]}}\n"
                                   for i in range(100))
        t = Tend(a.build, d, "tend", body)
        try:
            w = Window(t.proc)
            r0 = t.count_runs()
            time.sleep(min(20, dur / 2))
            early.append(t.proc.mem_kb())
            time.sleep(dur - min(20, dur / 2))
            w.close()
            late.append(t.proc.mem_kb())
            runs = t.count_runs() - r0
            size = t.db_bytes()
        finally:
            t.stop()
        cpu.append(1000 * w.cpu[0] / max(1, runs))
        log(f"history run {run}: {runs} runs, db {size / 2**20:.1f} MB, RssAnon {early[-1]['RssAnon']} -> "
            f"{late[-1]['RssAnon']} kB, CPU-ms/run {cpu[-1]:.3f}")
    s = f"100 jobs `* * * * * *` with history, {dur} s"
    for when, mem in ((f"after {min(20, dur // 2)} s", early), ("at the end", late)):
        table.add(s, f"RSS / RssAnon MB {when}",
                  f"{med([m['VmRSS'] for m in mem]) / 1024:.1f} / {med([m['RssAnon'] for m in mem]) / 1024:.2f}",
                  "n/a", "", None)
    table.add(s, "tendd CPU-ms per run", med(cpu), "n/a", "", None, digits=3)


def sc_scrape(a, work, table, nginx):
    """What Prometheus and a status page cost (issue 11): 100 probes @1s plus 900 daily jobs
    (1,000 entries) with the metrics listener on; tendd's CPU over a window without scrapes, then
    with 10 scrapes a second of /metrics, then with 10 requests a second of the status page /.
    The scraper is a thread of this script on one keep-alive connection (as Prometheus keeps one)."""
    import http.client
    dur = 3 if a.quick else 60
    res = {k: [] for k in ("idle", "metrics", "page", "bytes", "ms", "page_ms")}
    for run in range(a.runs):
        d = os.path.join(work, f"scrape{run}")
        os.makedirs(d)
        port = free_port()
        jobs = "jobs:\n" + "".join(f"  j{i}: {{schedule: '@daily', command: [/bin/true]}}\n" for i in range(900))
        t = Tend(a.build, d, "tend", f"  metrics: {{listen: '127.0.0.1:{port}'}}\n" + tend_probes(nginx, "/s/", 100) + jobs)

        def window(path):
            stop = threading.Event()
            got = {"n": 0, "bytes": 0, "ms": []}

            def scrape():
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                next_at = time.monotonic()
                while not stop.is_set():
                    t0 = time.monotonic()
                    conn.request("GET", path)
                    body = conn.getresponse().read()
                    got["ms"].append(1000 * (time.monotonic() - t0))
                    got["n"] += 1
                    got["bytes"] = len(body)
                    next_at += 0.1
                    stop.wait(max(0.0, next_at - time.monotonic()))
                conn.close()
            th = threading.Thread(target=scrape, daemon=True) if path else None
            w = Window(t.proc)
            if th:
                th.start()
            time.sleep(dur)
            stop.set()
            if th:
                th.join(15)
            w.close()
            return 100 * w.cpu[0] / (w.t1 - w.t0), got
        try:
            time.sleep(2 if a.quick else 6)
            idle, _ = window(None)
            with_metrics, m = window("/metrics")
            with_page, p = window("/")
        finally:
            t.stop()
        res["idle"].append(idle)
        res["metrics"].append(with_metrics - idle)
        res["page"].append(with_page - idle)
        res["bytes"].append(m["bytes"])
        res["ms"].append(pct(m["ms"], 50))
        res["page_ms"].append(pct(p["ms"], 50))
        log(f"scrape run {run}: idle {idle:.2f} %, +{with_metrics - idle:.2f} % at 10 scrapes/s of /metrics "
            f"({m['n']} scrapes, {m['bytes']} bytes, p50 {pct(m['ms'], 50):.1f} ms), +{with_page - idle:.2f} % "
            f"at 10 pages/s ({p['n']}, p50 {pct(p['ms'], 50):.1f} ms)")
    r = {k: med(v) for k, v in res.items()}
    s = f"1,000 entries (100 probes @1s), {dur} s"
    table.add(s, "CPU % without scrapes", r["idle"], None, "—", None, digits=2)
    table.add(s, "CPU % added by 10 scrapes/s of /metrics", r["metrics"], None, "< 1", r["metrics"] < 1, digits=2)
    table.add(s, "CPU % added by 10 status pages/s", r["page"], None, "—", None, digits=2)
    table.add(s, "/metrics bytes; p50 ms per scrape (client side)", f"{r['bytes']:,.0f}; {r['ms']:.1f}", None, "—", None)


def sc_curve(a, work, table, nginx):
    """The scale curve (issue 14): CPU-ms per probe, RSS and RssAnon at 10, 100, 1,000, 10,000
    probes @1s (tend keep-alive, tend new connection per probe, monit, each alone), and tendd's
    CPU-ms per run and RSS at 10, 100, 1,000 jobs `* * * * * *` of /bin/true. Also writes
    bench/results/curve.json, which bench/plot_curve.py draws (curve.png)."""
    sizes = [10, 100] if a.quick else [10, 100, 1000, 10000]
    dur = 2 if a.quick else 12
    out = {"probes": {"tend": {}, "tendfresh": {}, "monit": {}}, "jobs": {}}
    for n in sizes:
        res = {"tend": [], "tendfresh": [], "monit": []}
        for run in range(a.runs):
            d = os.path.join(work, f"curve{n}-{run}")
            os.makedirs(d)
            warm = 1.5 if a.quick else (6 if n <= 1000 else 10)
            res["tend"].append(measure_probes(a, nginx, d, "tend", n, reuse=True, warm=warm, dur=dur))
            res["tendfresh"].append(measure_probes(a, nginx, d, "tend", n, reuse=False, warm=warm, dur=dur))
            res["monit"].append(measure_probes(a, nginx, d, "monit", n, warm=warm, dur=dur))
        for who, runs in res.items():
            out["probes"][who][n] = {f: med([x[f] for x in runs]) for f in runs[0]}
        r = out["probes"]
        table.add(f"curve: {n:,} probes @1s", "CPU-ms/probe (keep-alive / new conn.)",
                  f"{fmt(r['tend'][n]['cpu_ms'], 3)} / {fmt(r['tendfresh'][n]['cpu_ms'], 3)}", r["monit"][n]["cpu_ms"],
                  "", None, digits=3)
        table.add(f"curve: {n:,} probes @1s", "RSS / RssAnon MB (keep-alive)",
                  f"{fmt(r['tend'][n]['rss'])} / {fmt(r['tend'][n]['anon'])}",
                  f"{fmt(r['monit'][n]['rss'])} / {fmt(r['monit'][n]['anon'])}", "", None)
    for n in ([10] if a.quick else [10, 100, 1000]):
        cpu, rss, anon, rate = [], [], [], []
        for run in range(a.runs):
            d = os.path.join(work, f"curvejobs{n}-{run}")
            os.makedirs(d)
            body = "jobs:\n" + "".join(f"  s{i}: {{schedule: \"* * * * * *\", command: [/bin/true], timeout: 10s}}\n"
                                       for i in range(n))
            t = Tend(a.build, d, "tend", body, history="{keep_runs: 100000, keep_days: 30}")
            try:
                time.sleep(1.5 if a.quick else 4)
                c0, t0 = t.count_runs(), time.time()
                w = Window(t.proc)
                time.sleep(dur)
                w.close()
                c1, t1 = t.count_runs(), time.time()
            finally:
                t.stop()
            runs = max(1, c1 - c0)
            cpu.append(1000 * w.cpu[0] / runs)
            rss.append(w.mem[0]["VmRSS"] / 1024)
            anon.append(w.mem[0]["RssAnon"] / 1024)
            rate.append((c1 - c0) / (t1 - t0))
            log(f"curve jobs n={n} run {run}: {rate[-1]:.0f} runs/s, {cpu[-1]:.3f} CPU-ms/run, RSS {rss[-1]:.1f} MB")
        out["jobs"][n] = {"cpu_ms": med(cpu), "rss": med(rss), "anon": med(anon), "rate": med(rate)}
        table.add(f"curve: {n:,} jobs each second", "CPU-ms/run; RSS / RssAnon MB",
                  f"{fmt(med(cpu), 3)}; {fmt(med(rss))} / {fmt(med(anon))}", "n/a", "", None)
    path = os.path.join(ROOT, "bench", "results", "quick-curve.json" if a.quick else "curve.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    log(f"curve: wrote {path}")


# The example config's jobs in crontab form, for the cron beside it: cron's finest step is a minute,
# so `alive` (every 10 s in tend) and `flaky` (every 45 s) run once a minute there; the daily report
# has no counterpart and does not run in ten minutes anyway.
EXAMPLE_CRONTAB = """\
* * * * * echo cron is alive at $(date -u +\\%T) >/dev/null
* * * * * df -h / | tail -n 1 >/dev/null
* * * * * test $(( $(date +\\%s) \\% 3 )) -ne 0 || { echo 'simulated failure' >&2; exit 1; }
"""


def sc_example(a, work, table, nginx):
    """The example config (config/tend.yaml) left running, beside a cron with its jobs: the daemon's
    own CPU seconds and its children's (the jobs it reaped), and RSS. The cron is busybox's crond
    from Debian's busybox-static (`-c` takes a private crontab directory; Debian's cron reads only
    system paths)."""
    dur = 10 if a.quick else 600
    d = os.path.join(work, "example")
    conf = os.path.join(d, "conf")
    tabs = os.path.join(d, "crontabs")
    os.makedirs(conf)
    os.makedirs(tabs)
    shutil.copy(os.path.join(ROOT, "config", "tend.yaml"), conf)  # its state lands in d/.tend
    with open(os.path.join(tabs, pwd.getpwuid(os.geteuid()).pw_name), "w") as f:
        f.write(EXAMPLE_CRONTAB)
    tendd = os.path.join(a.build, "daemon", "cli", "tendd")
    t = Proc([tendd, "--config", os.path.join(conf, "tend.yaml")], os.path.join(d, "tendd.log"))
    c = Proc([exe("busybox"), "crond", "-f", "-c", tabs, "-L", os.path.join(d, "crond.log")],
             os.path.join(d, "crond.out"))
    try:
        wait_for(lambda: os.path.exists(os.path.join(d, ".tend", "tend.sock")) or not t.alive(), 60, "tendd's socket")
        w = Window(t, c)
        k0 = [t.children_cpu_s(), c.children_cpu_s()]
        time.sleep(dur)
        w.close()
        k1 = [t.children_cpu_s(), c.children_cpu_s()]
    finally:
        t.stop()
        c.stop()
    s = f"example config beside busybox crond (its column: monit), {dur // 60 if dur >= 60 else dur} {'min' if dur >= 60 else 's'}"
    table.add(s, "daemon's own CPU s (tend vs cron)", w.cpu[0], w.cpu[1], "report", None, digits=2)
    table.add(s, "its jobs' CPU s (reaped children)", k1[0] - k0[0], k1[1] - k0[1], "report", None, digits=2)
    table.add(s, "RSS MB", w.mem[0]["VmRSS"] / 1024, w.mem[1]["VmRSS"] / 1024, "report", None)
    log(f"example: tendd {w.cpu[0]:.2f} s own, {k1[0] - k0[0]:.2f} s jobs; crond {w.cpu[1]:.2f} s own, "
        f"{k1[1] - k0[1]:.2f} s jobs")


SCENARIOS = {"idle": sc_idle, "scale": sc_scale, "maxrate": sc_maxrate, "hang": sc_hang, "jobs": sc_jobs,
             "spawn": sc_spawn, "restart": sc_restart, "statedb": sc_statedb, "scrape": sc_scrape,
             "curve": sc_curve, "example": sc_example, "history": sc_history}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    ap.add_argument("--build", default=os.environ.get("TEND_BUILD", os.path.join(ROOT, "build")),
                    help="build dir with daemon/cli/tendd and bench/bench_stamp (default: build/ or $TEND_BUILD)")
    ap.add_argument("--quick", action="store_true", help="smoke mode: one short run of each, < 60 s in all")
    ap.add_argument("--runs", type=int, help="runs per scenario (median); default 3, 1 with --quick")
    ap.add_argument("--out", help="also write the table here (default: bench/results/latest.md, "
                                  "bench/results/quick.md with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, configs)")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    a.runs = a.runs or (1 if a.quick else 3)
    names = a.scenarios or list(SCENARIOS)
    if set(names) - set(SCENARIOS):
        ap.error(f"unknown scenario {', '.join(sorted(set(names) - set(SCENARIOS)))}")
    for need in ("daemon/cli/tendd", "daemon/cli/tend", "bench/bench_stamp"):
        if not os.path.exists(os.path.join(a.build, need)):
            sys.exit(f"{a.build}/{need} missing: build with -DTEND_BUILD_BENCH=ON (see bench/README.md)")
    ensure_packages()
    work = tempfile.mkdtemp(prefix="tend-bench-")
    table = Table(smoke=a.quick)
    started = time.time()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    nginx = None
    try:
        nginx = Nginx(work)
        for name in names:
            log(f"scenario {name}")
            t0 = time.time()
            SCENARIOS[name](a, work, table, nginx)
            log(f"scenario {name} took {time.time() - t0:.0f} s")
    finally:
        stop_all()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True,
                         text=True).stdout.strip()
    text = (f"# tend vs Monit — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
            f"Machine: {os.cpu_count()} cores ({cpu}), {os.uname().release}; "
            f"monit {subprocess.run([exe('monit'), '-V'], capture_output=True, text=True).stdout.split()[4]}, "
            f"nginx 1 worker; tend build `{a.build}`.\n"
            f"Command: `python3 bench/tendbench.py {' '.join(sys.argv[1:])}` ({'quick, ' if a.quick else ''}"
            f"{a.runs} run(s) per scenario, medians; {time.time() - started:.0f} s in all).\n\n" + table.markdown())
    print(text)
    out = a.out or os.path.join(HERE, "results", "quick.md" if a.quick else "latest.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
