"""N probes @1s against a loopback server: probes/s achieved (server log), tendd CPU from
/proc/PID/stat, VmRSS/VmHWM. Usage: python3 bench/probe_load.py 1000   (from the repo root,
after scripts/dev build; TENDD/TEND override the binaries)."""
import sys, time, os, tempfile, collections
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
os.environ.setdefault("TENDD", "build/daemon/cli/tendd")
os.environ.setdefault("TEND", "build/daemon/cli/tend")
import harness
harness.TENDD = os.environ["TENDD"]; harness.TEND = os.environ["TEND"]
from harness import Daemon
from targets import Target
N = int(sys.argv[1])
t = Target()
d = Daemon(tempfile.mkdtemp(), "probes:\n" + "\n".join(f'  p{i}: {{url: "{t.url("/ok?p=" + str(i))}", interval: 1s, timeout: 5s}}' for i in range(N)) + "\n")
d.write_config(open(d.config).read().replace("level: debug", "level: info"))
d.start()
time.sleep(8)
n0 = len(t.times("/ok")); t0 = time.monotonic()
def cpu():
    f = open(f"/proc/{d.proc.pid}/stat").read().split(")")[-1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
c0 = cpu()
time.sleep(20)
n1 = len(t.times("/ok")); t1 = time.monotonic(); c1 = cpu()
rss = [l for l in open(f"/proc/{d.proc.pid}/status") if l.startswith(("VmRSS", "VmHWM"))]
print(f"{N} probes @1s: {(n1-n0)/(t1-t0):.0f} probes/s achieved, tendd CPU {100*(c1-c0)/(t1-t0):.1f}%, "
      f"{1000*(c1-c0)/max(1,n1-n0):.3f} CPU-ms/probe, {' '.join(x.strip() for x in rss)}")
print(collections.Counter(e["state"] for e in d.status()["entries"]))
d.cleanup(); t.stop()
