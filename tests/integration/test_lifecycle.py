"""Daemon lifecycle: kill -9 and restart, unclean start, missed ticks, reload, SIGHUP, SIGTERM."""

import os
import signal
import sqlite3
import time
import unittest

from harness import CHILD, TendTestCase, pid_alive, wait_for


class LifecycleTest(TendTestCase):
    def test_history_survives_kill9_and_the_restart_is_reported(self):
        cfg = f"""
jobs:
  tick:
    schedule: "* * * * * *"
    command: [{CHILD}, print, tick]
  long:
    schedule: "@reboot"
    command: [{CHILD}, sleep, "60000"]
"""
        d = self.daemon(cfg)
        wait_for(lambda: len([r for r in d.history("tick") if r["outcome"] == "success"]) >= 2, what="two runs")
        wait_for(lambda: d.entry("long")["state"] == "running", what="long to run")
        before = {r["run_id"] for r in d.history("tick") if r["outcome"] == "success"}
        d.kill9()
        # The database on disk has the runs (a real SQLite file, read directly).
        db = sqlite3.connect(os.path.join(d.state_dir, "tend.db"))
        self.assertGreaterEqual(db.execute("select count(*) from runs where entry='tick'").fetchone()[0], 2)
        db.close()
        time.sleep(2.2)  # real downtime spanning at least two ticks
        d.start()
        after = {r["run_id"] for r in d.history("tick", n=200)}
        self.assertTrue(before <= after, "history lost over kill -9")
        log = d.log_text()
        self.assertIn("event=unclean_start", log)
        down = d.history("tendd")[0]
        self.assertEqual(down["outcome"], "unclean_start")
        self.assertGreaterEqual(down["duration_ms"], 2000)
        wait_for(lambda: [r for r in d.history("long") if r["outcome"] == "interrupted"], what="interrupted run")
        self.assertRegex(d.log_text(), r"job=tick run=\d+ event=MISSED ticks=\d+")

    def test_clean_stop_is_not_unclean(self):
        d = self.daemon(f"""
jobs:
  j:
    schedule: "@daily"
    command: [{CHILD}, exit, "0"]
""")
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertNotIn("event=unclean_start", d.log_text())

    def test_catch_up_runs_once_after_downtime(self):
        cfg = f"""
jobs:
  minutely:
    schedule: "* * * * * *"
    catch_up: true
    command: [{CHILD}, print, ran]
"""
        d = self.daemon(cfg)
        wait_for(lambda: d.history("minutely"), what="a first run")
        self.assertEqual(d.stop(), 0)
        time.sleep(3.2)
        d.start()
        wait_for(lambda: "trigger=catch_up" in d.log_text(), what="a catch-up run")
        missed = [r for r in d.history("minutely", n=200) if r["outcome"] == "missed"]
        self.assertEqual(len(missed), 1)
        self.assertGreaterEqual(int(missed[0]["reason"].split()[0]), 2)

    def test_reload_broken_keeps_old_config_and_reports_diff(self):
        d = self.daemon(f"""
jobs:
  keep:
    schedule: "*/5 * * * *"
    command: [{CHILD}, exit, "0"]
  change:
    schedule: "*/5 * * * *"
    command: [{CHILD}, exit, "0"]
  drop:
    schedule: "*/5 * * * *"
    command: [{CHILD}, exit, "0"]
""")
        next_keep = d.entry("keep")["next_run"]
        # A broken file: bare-number duration.
        d.write_config(f"""
jobs:
  keep:
    schedule: "*/5 * * * *"
    command: [{CHILD}, exit, "0"]
    timeout: 300
""")
        r = d.tend("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("did you mean 300s?", r.stderr)
        self.assertIn("jobs.keep.timeout", r.stderr)
        st = d.status()
        self.assertIn("did you mean 300s?", st["daemon"]["config"]["error"])
        self.assertEqual(sorted(e["name"] for e in st["entries"]), ["change", "drop", "keep"])
        self.assertIn("event=config_rejected", d.log_text())
        # A good file: one kept, one changed, one removed, one added.
        d.write_config(f"""
jobs:
  keep:
    schedule: "*/5 * * * *"
    command: [{CHILD}, exit, "0"]
  change:
    schedule: "*/5 * * * *"
    command: [{CHILD}, exit, "1"]
  new:
    schedule: "@daily"
    command: [{CHILD}, exit, "0"]
""")
        r = d.tend("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("added new; changed change; removed drop", r.stdout)
        st = d.status()
        self.assertIsNone(st["daemon"]["config"]["error"])
        self.assertEqual(sorted(e["name"] for e in st["entries"]), ["change", "keep", "new"])
        self.assertEqual(d.entry("keep")["next_run"], next_keep)

    def test_sighup_reloads(self):
        d = self.daemon(f"""
jobs:
  a:
    schedule: "@daily"
    command: [{CHILD}, exit, "0"]
""")
        d.write_config(f"""
jobs:
  b:
    schedule: "@daily"
    command: [{CHILD}, exit, "0"]
""")
        d.signal(signal.SIGHUP)
        wait_for(lambda: [e["name"] for e in d.status()["entries"]] == ["b"], what="b after SIGHUP")

    def test_sigterm_stops_running_jobs_and_exits_0(self):
        d = self.daemon(f"""
jobs:
  long:
    schedule: "@reboot"
    command: [{CHILD}, fork-grandchild, sleep, "60000"]
    kill_grace: 2s
""")
        wait_for(lambda: d.entry("long")["state"] == "running", what="long to run")
        out = wait_for(lambda: d.tend("output", "long").stdout.strip(), what="live output")
        grandchild = int([l for l in out.splitlines() if l.startswith("grandchild=")][0].split("=")[1])
        self.assertEqual(d.stop(), 0)
        self.assertFalse(os.path.exists(d.socket))
        wait_for(lambda: not pid_alive(grandchild), what="grandchild gone")
        self.assertIn("event=STOPPED", d.log_text())


if __name__ == "__main__":
    unittest.main()


class BadStateTest(TendTestCase):
    """SPEC "Bad state is survived": a corrupt state database costs its history, not the daemon."""

    def test_corrupt_database_is_moved_aside_and_reported(self):
        from receiver import Receiver
        rcv = Receiver()
        self.addCleanup(rcv.stop)
        d = self.daemon(f"""
notifiers:
  hook: {{type: webhook, url: "{rcv.url}/hook"}}
alerts:
  routes: [{{notify: [hook]}}]
jobs:
  j: {{schedule: "@daily", command: ["true"]}}
""", start=False)
        os.makedirs(d.state_dir, exist_ok=True)
        with open(os.path.join(d.state_dir, "tend.db"), "wb") as f:
            f.write(b"\x00garbage, not SQLite" * 500)
        d.start()  # before the fix: exit 1 here, and systemd restarted it every 2 s forever
        self.assertEqual(d.tend("run", "j", "--wait").returncode, 0)
        asides = [n for n in os.listdir(d.state_dir) if n.startswith("tend.db.corrupt-")]
        self.assertEqual(len(asides), 1, os.listdir(d.state_dir))
        self.assertEqual(os.path.getsize(os.path.join(d.state_dir, asides[0])), 20 * 500)
        (alert,) = rcv.wait_for(lambda r: r.json.get("event") == "state_reset", what="the state_reset alert")
        self.assertEqual((alert.json["kind"], alert.json["severity"], alert.json["status"]),
                         ("daemon", "critical", "firing"))
        self.assertIn("not a database", alert.json["detail"])
        self.assertIn(asides[0], alert.json["detail"])
