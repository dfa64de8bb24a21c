"""Cluster mode end to end: three real tendd, each with its own state dir and socket, on one real
3-member etcd (Debian's etcd-server, loopback ports, etcd_cluster.py), sharing 16 `run_on: any`
jobs that fire every second and append "TICK HOST WALLCLOCK JOB" to one file (over 1,000 ticks
in a run, each checked).

One test walks the whole story, because each phase starts from the state the last one left:
every tick exactly once across hosts; `kill -9` of one tendd (the others carry on, none doubled,
its member key gone within its lease); `SIGSTOP` of another for 2 x TTL (the fence: it runs no tick
of its pause, reports cluster_degraded, rejoins); a notification fired by all three hosts in the same second
is received once; the etcd member every host asks first killed (fail-over, nothing lost); two etcd
members stopped (quorum lost): no runs, `cluster_degraded` sent by every live host to a loopback
webhook; etcd back: the hosts rejoin without a restart, the degraded alert resolves and runs
resume. A second test kills the host that is running a job: the run is reported interrupted
(host_lost) once, as the job's failure, and not run again. Every wait is a poll with a deadline;
only PIDs this test started are signalled. Figures (take-over, degraded and rejoin times) are
printed for the notes.
"""

import collections
import datetime
import json
import os
import signal
import time
import unittest

from etcd_cluster import ETCD, EtcdCluster
from harness import Daemon, TendTestCase, precondition, wait_for
from receiver import Receiver

TTL = 2  # seconds: etcd's minimum, so the test is short


# `tick` and 15 more jobs like it: 16 ticks a second across the cluster, so the run passes
# 1,000 ticks (each checked: exactly once, none lost outside the documented windows).
JOBS = ["tick"] + [f"tick{k:02d}" for k in range(1, 16)]


def parse_ticks(path, job="tick"):
    """[(tick_epoch_s, host, written_epoch_s)] of every line of the ticks file for `job`."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 4 or parts[3] != job:
                    continue
                tick = datetime.datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
                out.append((tick, parts[1], float(parts[2])))
    except FileNotFoundError:
        pass
    return out


class ClusterTest(TendTestCase):
    def setUp(self):
        super().setUp()
        precondition(os.access(ETCD, os.X_OK), f"etcd at {ETCD} (Debian package etcd-server)")
        self.etcd = EtcdCluster(3)
        self.addCleanup(self.etcd.stop_all)
        self.etcd.wait_healthy()
        self.rx = Receiver()
        self.addCleanup(self.rx.stop)
        self.ticks = os.path.join(self.dir, "ticks.log")

    def config(self, i, boom_at, extra_jobs="", jobs=JOBS):
        wd = os.path.join(self.dir, f"h{i}")
        os.makedirs(wd, exist_ok=True)
        endpoints = ", ".join(self.etcd.endpoints())
        return f"""daemon:
  state_dir: {wd}/state
  socket: {wd}/tend.sock
  environment: test
  host: h{i}
  timezone: UTC
  log: {{level: debug}}
cluster:
  etcd: [{endpoints}]
  prefix: /it/{os.getpid()}/
  node: h{i}
  lease_ttl: {TTL}s
notifiers:
  hook: {{type: webhook, url: "{self.rx.url}/hook"}}
alerts:
  routes: [{{notify: [hook]}}]
jobs:
""" + "".join(f"""  {job}:
    schedule: "* * * * * *"
    run_on: any
    command: [sh, -c, 'echo "$TEND_TICK h{i} $(date +%s.%N) {job}" >> {self.ticks}']
""" for job in jobs) + f"""  boom:
    schedule: "{boom_at.second} {boom_at.minute} {boom_at.hour} * * *"
    run_on: all
    command: [sh, -c, "echo boom; exit 3"]
""" + extra_jobs.replace("HOST", f"h{i}")

    def start_host(self, i, boom_at, extra_jobs="", jobs=JOBS):
        wd = os.path.join(self.dir, f"h{i}")
        os.makedirs(wd, exist_ok=True)
        d = Daemon(wd, self.config(i, boom_at, extra_jobs, jobs))
        self.daemons.append(d)
        return d.start()

    def cluster_doc(self, d):
        r = d.tend("cluster", "--json", timeout=10)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def joined(self, d, members=None):
        doc = self.cluster_doc(d)
        if not doc or doc.get("state") != "joined":
            return False
        return members is None or sorted(m["node"] for m in doc.get("members", [])) == members

    def doubles(self, rows):
        counts = collections.Counter(t for t, _, _ in rows)
        return sorted(t for t, n in counts.items() if n > 1)

    def each_job(self, after, before=None, why="ticks lost"):
        """For every job: no tick ran twice, and every tick in (after, before] ran (before: 3 s ago,
        so a tick still being written is not a gap). The number of ticks checked."""
        before = before if before is not None else time.time() - 3
        checked = 0
        for job in JOBS:
            rows = parse_ticks(self.ticks, job)
            self.assertEqual(self.doubles(rows), [], f"{job} ran a tick twice: {rows}")
            ticks = sorted(t for t, _, _ in rows if after < t <= before)
            self.assertTrue(ticks, f"{job}: no ticks in ({after}, {before}]")
            self.assertEqual(ticks, [ticks[0] + k for k in range(len(ticks))], f"{why} ({job}): {ticks}")
            checked += len(ticks)
        return checked

    def bodies(self, event, status=None):
        out = []
        for b in self.rx.bodies("/hook"):
            if b and b.get("event") == event and (status is None or b.get("status") == status):
                out.append(b)
        return out

    def test_ticks_once_kill_degrade_rejoin(self):
        # `boom` fails on all three hosts in one second, once: its alert must arrive once.
        boom_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=45)
        hosts = [self.start_host(i, boom_at) for i in range(3)]
        for d in hosts:
            wait_for(lambda d=d: self.joined(d, ["h0", "h1", "h2"]), timeout=20, what="3 members joined")
        status = hosts[0].status()
        self.assertEqual(status["cluster"]["state"], "joined", status)
        self.assertEqual(hosts[0].entry("tick")["run_on"], "any")
        self.assertIn("cluster node h0 joined", hosts[0].tend("status").stdout)
        text = hosts[0].tend("cluster").stdout
        self.assertIn("members:", text)
        self.assertIn("h2", text)

        # 1. Every tick exactly once across the hosts, shared among them.
        wait_for(lambda: len(parse_ticks(self.ticks)) >= 12, timeout=30, what="12 ticks")
        rows = parse_ticks(self.ticks)
        self.assertEqual(self.doubles(rows), [], rows)
        ticks = sorted(t for t, _, _ in rows)
        self.assertEqual(ticks, [ticks[0] + k for k in range(len(ticks))], f"a tick was lost: {ticks}")
        self.assertGreater(len({h for _, h, _ in rows}), 1, "only one host ever ran the job")
        self.each_job(0, why="a tick was lost")
        # History on any host shows every host's runs, with the host.
        r = hosts[1].tend("history", "tick", "-n", "10", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        runs = json.loads(r.stdout)["runs"]
        self.assertEqual(len(runs), 10, runs)
        self.assertGreater(len({x["host"] for x in runs}), 1, runs)
        text = hosts[1].tend("history", "tick", "-n", "5")
        self.assertIn("HOST", text.stdout)
        doc = self.cluster_doc(hosts[2])
        self.assertTrue(any(t["job"] == "tick" for t in doc["ticks"]), doc)
        self.assertTrue(all(m["lease_left_s"] is not None for m in doc["members"]), doc)

        # 2. kill -9 one tendd: the others run every later tick, none twice; its member goes
        #    with its lease.
        killed_at = time.time()
        hosts[0].kill9()
        gone = wait_for(lambda: self.joined(hosts[1], ["h1", "h2"]) and time.time(), timeout=4 * TTL + 5,
                        what="h0's member key gone")
        print(f"\nfigure: h0's member key gone {gone - killed_at:.2f}s after kill -9 (lease_ttl {TTL}s)")
        wait_for(lambda: max(t for t, _, _ in parse_ticks(self.ticks)) >= killed_at + 2 * TTL + 3, timeout=30,
                 what="ticks after the kill")
        rows = parse_ticks(self.ticks)
        self.assertEqual(self.doubles(rows), [], rows)
        after = sorted(t for t, h, _ in rows if t > killed_at + 1)
        self.assertEqual(after, [after[0] + k for k in range(len(after))], f"ticks lost after the kill: {after}")
        self.assertFalse(any(h == "h0" for t, h, _ in rows if t > killed_at + 1), "a killed host ran a tick")
        self.each_job(killed_at + 1, why="ticks lost after the kill")
        # The tick in the second of the kill ran once or was interrupted (h0 had started it), never lost silently.
        late = max((w - t for t, _, w in rows if killed_at - 1 <= t <= killed_at + 2 * TTL), default=0.0)
        print(f"figure: latest start of a tick around the kill: {late:.2f}s after its second")
        self.assertLess(late, TTL + 1.5)

        # 2b. SIGSTOP one tendd for 2 x TTL: the other runs every tick meanwhile; the paused one,
        #     when it resumes, neither runs nor records a tick it lost (the fence), says it was
        #     degraded, rejoins with a new lease and claims again.
        stopped_at = time.time()
        hosts[2].signal(signal.SIGSTOP)
        time.sleep(2 * TTL)  # the stimulus: a pause past the lease
        hosts[2].signal(signal.SIGCONT)
        cont_at = time.time()
        wait_for(lambda: self.joined(hosts[2], ["h1", "h2"]), timeout=20, what="h2 rejoined after SIGCONT")
        self.rx.wait_for(lambda req: req.json and req.json.get("event") == "cluster_degraded" and
                         req.json.get("host") == "h2" and req.json.get("status") == "resolved", timeout=20,
                         path_prefix="/hook", what="h2's cluster_degraded, resolved")
        wait_for(lambda: max(t for t, _, _ in parse_ticks(self.ticks)) >= cont_at + 3, timeout=20,
                 what="ticks after SIGCONT")
        rows = parse_ticks(self.ticks)
        self.assertEqual(self.doubles(rows), [], rows)
        window = sorted(t for t, _, _ in rows if t > stopped_at + 1)
        self.assertEqual(window, [window[0] + k for k in range(len(window))], f"ticks lost around SIGSTOP: {window}")
        self.assertEqual([t for t, h, _ in rows if h == "h2" and stopped_at + 1 < t < cont_at], [],
                         "the paused host ran a tick of its pause")
        self.each_job(stopped_at + 1, why="ticks lost around SIGSTOP")
        late = max((w - t for t, _, w in rows if stopped_at - 1 <= t <= cont_at + 1), default=0.0)
        print(f"figure: SIGSTOP {2 * TTL}s: latest start of a tick of the pause {late:.2f}s after its second; "
              f"take-overs by h1: {hosts[1].status()['cluster']['claims']['taken_over']}")
        self.assertLess(late, TTL + 1.5)
        self.rx.clear()

        # 3. A notification fired on every live host in the same second is received once.
        wait_for(lambda: time.time() > boom_at.timestamp() + 4, timeout=40, what="boom's second")
        self.rx.wait_for(lambda req: req.json and req.json.get("name") == "boom", timeout=20, path_prefix="/hook",
                         what="boom's alert")
        time.sleep(3)  # room for a duplicate to arrive: there must be none
        booms = [b for b in self.rx.bodies("/hook") if b and b.get("name") == "boom"]
        self.assertEqual(len(booms), 1, booms)
        for d in hosts[1:]:
            self.assertEqual(d.entry("boom")["last_result"], "failure")

        # 3b. The etcd member every host asks first killed (SIGKILL): the hosts fail over to the
        #     others; no tick lost or doubled; then it comes back on its data dir.
        member_killed_at = time.time()
        self.etcd.kill(0)
        wait_for(lambda: max(t for t, _, _ in parse_ticks(self.ticks)) >= member_killed_at + 6, timeout=30,
                 what="ticks with an etcd member killed")
        self.each_job(member_killed_at - 1, why="ticks lost with an etcd member killed")
        for d in hosts[1:]:
            self.assertEqual(d.status()["cluster"]["state"], "joined")
        self.etcd.start(0)
        self.etcd.wait_healthy()

        # 4. Quorum lost (two of three etcd members stopped): no runs, cluster_degraded from each host.
        lost_at = time.time()
        self.etcd.stop(1)
        self.etcd.stop(2)
        self.rx.wait_for(lambda req: req.json and req.json.get("event") == "cluster_degraded" and
                               req.json.get("status") == "firing", count=2, timeout=8 * TTL + 10, path_prefix="/hook",
                               what="cluster_degraded from h1 and h2")
        degraded_after = time.time() - lost_at
        self.assertEqual(sorted(b["host"] for b in self.bodies("cluster_degraded", "firing")), ["h1", "h2"])
        self.assertEqual(self.bodies("cluster_degraded", "firing")[0]["severity"], "critical")
        print(f"figure: cluster_degraded received from both hosts {degraded_after:.2f}s after quorum loss")
        for d in hosts[1:]:
            self.assertEqual(d.status()["cluster"]["state"], "degraded")
        quiet_from = time.time()
        time.sleep(3 * TTL)
        ran = [(t, h) for t, h, w in parse_ticks(self.ticks) if w > quiet_from]
        self.assertEqual(ran, [], "a run_on: any tick ran without etcd")
        # Everything else keeps working: the socket answers, the other job's entry is there.
        self.assertEqual(hosts[1].entry("boom")["kind"], "job")

        # 5. etcd back: the hosts rejoin without a restart, the alert resolves, runs resume.
        back_at = time.time()
        self.etcd.start(1)
        self.etcd.start(2)
        self.etcd.wait_healthy()
        for d in hosts[1:]:
            wait_for(lambda d=d: self.joined(d), timeout=30, what="rejoined")
        rejoined = time.time() - back_at
        self.rx.wait_for(lambda req: req.json and req.json.get("event") == "cluster_degraded" and
                         req.json.get("status") == "resolved", count=2, timeout=30, path_prefix="/hook",
                         what="cluster_degraded resolved by h1 and h2")
        wait_for(lambda: any(w > back_at for _, _, w in parse_ticks(self.ticks)), timeout=30, what="runs resumed")
        resumed = min(w for _, _, w in parse_ticks(self.ticks) if w > back_at) - back_at
        print(f"figure: both hosts joined {rejoined:.2f}s and runs resumed {resumed:.2f}s after etcd was restarted")
        since = back_at + resumed + 1.5
        now = time.time()
        wait_for(lambda: max(t for t, _, _ in parse_ticks(self.ticks)) >= max(now, since + 5) + 3 and
                 sum(len(parse_ticks(self.ticks, job)) for job in JOBS) >= 1000, timeout=60, what="1,000 ticks")
        rows = parse_ticks(self.ticks)
        self.assertEqual(self.doubles(rows), [], rows)
        resumed_ticks = sorted(t for t, _, w in rows if w > back_at + resumed + 1.5)
        self.assertEqual(resumed_ticks, [resumed_ticks[0] + k for k in range(len(resumed_ticks))], resumed_ticks)
        self.each_job(since, since + 5, why="ticks lost after etcd came back")
        total = sum(len(parse_ticks(self.ticks, job)) for job in JOBS)
        print(f"figure: {total} ticks run ({len(JOBS)} jobs), 0 doubles, 0 lost outside the outages")
        self.assertGreaterEqual(total, 1000)

    def test_a_run_lost_with_its_host_is_interrupted_and_told_once(self):
        # `long` (every 10 s, runs 6 s) on two hosts: kill -9 the one running it. The other records
        # the run interrupted (host_lost), tells it once as a failure of the job, and does not run
        # that tick again.
        starts = os.path.join(self.dir, "long.log")
        extra = f"""  long:
    schedule: "*/10 * * * * *"
    run_on: any
    command: [sh, -c, 'echo "$TEND_TICK HOST" >> {starts}; sleep 6']
"""
        never = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
        hosts = [self.start_host(i, never, extra, jobs=[]) for i in range(2)]
        for d in hosts:
            wait_for(lambda d=d: self.joined(d, ["h0", "h1"]), timeout=20, what="2 members joined")
        # Which host runs it: the one whose entry says running (polled with a deadline).
        runner = None
        deadline = time.monotonic() + 30
        while runner is None and time.monotonic() < deadline:
            for i, d in enumerate(hosts):
                if d.entry("long")["running"]:
                    runner = i
                    break
            else:
                time.sleep(0.1)
        self.assertIsNotNone(runner, "no host ran `long` within 30 s")
        with open(starts) as f:
            lost_tick = f.read().split()[-2]
        other = hosts[1 - runner]
        killed_at = time.time()
        hosts[runner].kill9()
        body = self.rx.wait_for(lambda req: req.json and req.json.get("name") == "long" and
                                req.json.get("event") == "failure", timeout=4 * TTL + 10, path_prefix="/hook",
                                what="long's host_lost failure")[0].json
        print(f"\nfigure: a run lost with its host (kill -9) told {time.time() - killed_at:.2f}s later "
              f"(lease_ttl {TTL}s)")
        self.assertEqual(body["status"], "firing")
        self.assertEqual(body["host"], f"h{1 - runner}")
        self.assertEqual(body["labels"]["reason"], "host_lost")
        self.assertEqual(body["labels"]["node"], f"h{runner}")
        self.assertIn("was lost while it ran (host_lost)", body["summary"])
        runs = json.loads(other.tend("history", "long", "-n", "10", "--json").stdout)["runs"]
        lost = [r for r in runs if r["outcome"] == "interrupted"]
        self.assertEqual(len(lost), 1, runs)
        self.assertIn("host_lost", lost[0]["reason"])
        self.assertEqual(lost[0]["host"], f"h{runner}")
        time.sleep(2)  # room for a second report: there must be none, nor a re-run of that tick
        failures = [b for b in self.rx.bodies("/hook") if b and b.get("name") == "long" and b.get("event") == "failure"]
        self.assertEqual(len(failures), 1, failures)
        with open(starts) as f:
            ticks = [line.split()[0] for line in f if line.strip()]
        self.assertEqual(ticks.count(lost_tick), 1, ticks)


if __name__ == "__main__":
    unittest.main()
