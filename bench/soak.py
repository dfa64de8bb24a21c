#!/usr/bin/env python3
"""Soak (issue "hostile input and failing parts"): tendd for a long stretch under steady churn,
sampled every minute, to show that nothing grows without bound beyond what retention keeps.

  python3 bench/soak.py --build BUILD_DIR [--minutes 30] [--out bench/results/soak.md]

Load (all on 127.0.0.1, against Debian's nginx as in tendbench.py):
  - 1,000 probes @1s: 980 on steady locations, 20 on one that flips between 200 and 500 every minute;
  - 100 jobs `* * * * *` (100 runs a minute), 10 of which fail every other minute;
  - every alert to a webhook receiver (a thread of this script) that answers 500 for 90 s, then
    200 for 90 s, and so on: the outbox retries, drains, retries.
Sampled each minute from /proc and the state dir: RSS, RssAnon, open fds, threads, the database's
size (with its WAL), and the outbox's pending count (`tend status --json`). The table goes to
--out; the slope of each series over the second half is printed at the end (≈ 0 when bounded).
Every process started here is ended by PID; the run stops by itself after --minutes.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tendbench as tb  # noqa: E402  (the bench's nginx, tendd and process helpers)


class FlappingReceiver:
    """200 for `period` seconds, then 500 for `period`, and so on; counts what it was sent."""

    def __init__(self, period):
        self.period = period
        self.t0 = time.monotonic()
        self.count = {"ok": 0, "refused": 0}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                up = int((time.monotonic() - receiver.t0) / receiver.period) % 2 == 1
                receiver.count["ok" if up else "refused"] += 1
                self.send_response(200 if up else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def status_field(path, field):
    with open(path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def slope_per_min(values):
    """Least-squares slope of a series sampled once a minute."""
    n = len(values)
    if n < 2:
        return 0.0
    mx = (n - 1) / 2
    my = sum(values) / n
    den = sum((i - mx) ** 2 for i in range(n))
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / den


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="build dir with daemon/cli/tendd (Release)")
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(tb.HERE, "results", "soak.md"))
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    tb.ensure_packages()
    work = tempfile.mkdtemp(prefix="tend-soak-")
    rows = []
    receiver = None
    try:
        nginx = tb.Nginx(work)
        receiver = FlappingReceiver(90)
        probes = "probes:\n" + "".join(
            f"  p{i}: {{url: \"{nginx.url('/tflaky' if i < 20 else f'/s/health/{i}')}\", interval: 1s, timeout: 5s}}\n"
            for i in range(1000))
        jobs = "jobs:\n" + "".join(
            f"  j{i}: {{schedule: '* * * * *', shell: '{'test $(( $(date +%M) % 2 )) = 0' if i < 10 else 'true'}'}}\n"
            for i in range(100))
        body = (f"notifiers:\n  hook: {{type: webhook, url: \"{receiver.url}\"}}\n"
                "alerts:\n  routes:\n    - notify: [hook]\n" + probes + jobs)
        t = tb.Tend(build, work, "tend", body)
        flaky = os.path.join(nginx.dir, "tdown")
        started = time.monotonic()
        tb.log(f"soak: {a.minutes} min, tendd pid {t.proc.pid}, work {work}")
        for minute in range(a.minutes + 1):
            # Flip the 20 flaky probes' location every minute.
            if minute % 2:
                open(flaky, "w").close()
            elif os.path.exists(flaky):
                os.remove(flaky)
            pid = t.proc.pid
            st = json.loads(t.cli("status", "--json").stdout or "{}")
            pending = sum(n.get("pending", 0) for n in st.get("alerts", {}).get("notifiers", []))
            row = {
                "min": minute,
                "rss_mb": status_field(f"/proc/{pid}/status", "VmRSS") / 1024,
                "anon_mb": status_field(f"/proc/{pid}/status", "RssAnon") / 1024,
                "fds": len(os.listdir(f"/proc/{pid}/fd")),
                "threads": status_field(f"/proc/{pid}/status", "Threads"),
                "db_mb": t.db_bytes() / 1e6,
                "pending": pending,
                "cpu_s": t.proc.cpu_s(),
                "sent_ok": receiver.count["ok"],
                "refused": receiver.count["refused"],
            }
            rows.append(row)
            tb.log("soak " + " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            if minute < a.minutes:
                time.sleep(max(0.0, started + 60 * (minute + 1) - time.monotonic()))
            if not t.proc.alive():
                raise RuntimeError("tendd died during the soak")
        t.stop()
    finally:
        tb.stop_all()
        if receiver:
            receiver.stop()
        shutil.rmtree(work, ignore_errors=True)
    keys = ["rss_mb", "anon_mb", "fds", "threads", "db_mb", "pending"]
    half = rows[len(rows) // 2:]
    lines = [f"# Soak — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"Command: `python3 bench/soak.py {' '.join(sys.argv[1:])}`; 1,000 probes @1s (20 flipping every "
             "minute), 100 jobs a minute (10 failing every other minute), a webhook receiver answering 500 and 200 "
             "in turns of 90 s.", "",
             "| minute | RSS MB | RssAnon MB | fds | threads | DB MB | outbox pending | CPU s | delivered | refused |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['min']} | {r['rss_mb']:.1f} | {r['anon_mb']:.1f} | {r['fds']} | {r['threads']} | "
                     f"{r['db_mb']:.1f} | {r['pending']} | {r['cpu_s']:.0f} | {r['sent_ok']} | {r['refused']} |")
    lines += ["", "Slope over the second half, per minute: " +
              ", ".join(f"{k} {slope_per_min([r[k] for r in half]):+.3f}" for k in keys)]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
