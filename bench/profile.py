#!/usr/bin/env python3
"""Profile tendd under one workload with perf (cpu-clock samples, DWARF call graphs).

  python3 bench/profile.py --build BUILD_DIR probes N [--fresh] [--seconds S] [--out perf.data]
  python3 bench/profile.py --build BUILD_DIR jobs N               # N jobs `* * * * * *`
  perf report -i perf.data --children --sort dso,sym --stdio -g none | head -60

Starts nginx (as tendbench.py does) and tendd on N probes @1s or N jobs, waits 8 s, records
`perf record -p PID` for S seconds, prints the achieved probe rate and tendd's CPU over the same
window, and ends what it started. Without perf (Debian linux-perf) it only prints the figures;
`--callgrind` runs tendd under valgrind --tool=callgrind instead (slow: use a small N).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tendbench as tb  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["probes", "jobs"])
    ap.add_argument("n", type=int)
    ap.add_argument("--tendd", help="another tendd binary (e.g. a build from before a change)")
    ap.add_argument("--build", default=os.environ.get("TEND_BUILD", os.path.join(tb.ROOT, "build")))
    ap.add_argument("--fresh", action="store_true", help="probes with reuse_connection: false")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--out", default="perf.data", help="'-': no profile, only the figures")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--stall", type=float, default=0,
                    help="stop tendd (SIGSTOP) this long after the warm-up, as a loaded machine or a slow "
                         "command would, then measure from 3 s after it continues")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="tend-profile-")
    try:
        nginx = tb.Nginx(work)
        d = os.path.join(work, "tend")
        os.makedirs(d)
        if a.what == "probes":
            body = tb.tend_probes(nginx, "/t/", a.n, reuse=not a.fresh)
        else:
            stamp = os.path.join(a.build, "bench", "bench_stamp")
            body = "jobs:\n" + "".join(f"  j{i}: {{schedule: \"* * * * * *\", command: [{stamp}, {d}/stamps, j{i}], "
                                       f"timeout: 10s}}\n" for i in range(a.n))
        cfg = os.path.join(d, "tend.yaml")
        with open(cfg, "w") as f:
            f.write(f"daemon:\n  state_dir: {d}/state\n  socket: {d}/tend.sock\n  log: {{level: warning}}\n{body}")
        argv = [a.tendd or os.path.join(a.build, "daemon", "cli", "tendd"), "--config", cfg]
        if a.callgrind:
            argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={os.path.abspath(a.out)}"] + argv
        p = tb.Proc(argv, os.path.join(d, "tendd.log"))
        time.sleep(8)
        if a.stall:
            os.kill(p.pid, signal.SIGSTOP)
            time.sleep(a.stall)
            os.kill(p.pid, signal.SIGCONT)
            time.sleep(3)
        w = tb.Window(p)
        if shutil.which("perf") and not a.callgrind and a.out != "-":
            subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "1000", "-g", "--call-graph", "dwarf,16384",
                            "-o", a.out, "-p", str(p.pid), "--", "sleep", str(a.seconds)], check=True,
                           capture_output=True)
        else:
            time.sleep(a.seconds)
        w.close()
        span = w.t1 - w.t0
        if a.what == "probes":
            n = sum(1 for x in nginx.entries(0, "/t/") if w.t0 <= x[0] < w.t1)
            print(f"{a.n} probes ({'new connection each' if a.fresh else 'keep-alive'}): {n / span:.0f} probes/s, "
                  f"tendd CPU {100 * w.cpu[0] / span:.1f}%, {1000 * w.cpu[0] / max(1, n):.3f} CPU-ms/probe, {w.mem[0]}")
        else:
            print(f"{a.n} jobs: tendd CPU {100 * w.cpu[0] / span:.1f}%, {w.mem[0]}")
        if a.out != "-":
            print(f"profile: {a.out}")
    finally:
        tb.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
