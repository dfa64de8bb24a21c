"""Jobs through the real tendd: schedules, output, timeouts, retries, overlap, manual runs."""

import json
import os
import unittest

from harness import CHILD, TendTestCase, pid_alive, wait_for


class JobsTest(TendTestCase):
    def test_scheduled_job_runs_and_records_output(self):
        d = self.daemon(f"""
jobs:
  tick:
    schedule: "* * * * * *"
    command: [{CHILD}, print, hello-from-tick]
""")
        runs = wait_for(lambda: [r for r in d.history("tick") if r["outcome"] == "success"], what="a success")
        self.assertEqual(runs[0]["exit_code"], 0)
        self.assertIsNone(runs[0]["signal"])
        out = d.tend("output", "tick")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("hello-from-tick", out.stdout)
        entry = d.entry("tick")
        self.assertIn(entry["state"], ("idle", "running"))
        self.assertEqual(entry["last_result"], "success")
        self.assertIsNotNone(entry["next_run"])
        self.assertIn("event=START", d.log_text())
        self.assertRegex(d.log_text(), r"job=tick run=\d+ attempt=1 event=SUCCESS exit=0 duration_ms=\d+")

    def test_timeout_kills_the_whole_process_group(self):
        d = self.daemon(f"""
jobs:
  hang:
    schedule: "0 0 1 1 *"
    command: [{CHILD}, fork-grandchild, sleep, "60000"]
    timeout: 1s
    kill_grace: 1s
""")
        r = d.tend("run", "hang", "--wait", timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("timeout", r.stderr)
        run = d.history("hang")[0]
        self.assertEqual(run["outcome"], "timeout")
        self.assertLess(run["duration_ms"], 10000)
        grandchild = int([l for l in r.stdout.splitlines() if l.startswith("grandchild=")][0].split("=")[1])
        wait_for(lambda: not pid_alive(grandchild), what=f"grandchild {grandchild} to be gone")
        self.assertRegex(d.log_text(), r"job=hang run=\d+ attempt=1 event=TIMEOUT signal=SIGTERM")

    def test_sigterm_ignored_gets_sigkill_after_grace(self):
        d = self.daemon(f"""
jobs:
  stubborn:
    schedule: "0 0 1 1 *"
    command: [{CHILD}, ignore-sigterm, sleep, "60000"]
    timeout: 500ms
    kill_grace: 500ms
""")
        r = d.tend("run", "stubborn", "--wait", timeout=30)
        self.assertEqual(r.returncode, 1)
        run = d.history("stubborn")[0]
        self.assertEqual(run["outcome"], "timeout")
        self.assertEqual(run["signal"], 9)

    def test_retries_share_the_run_id(self):
        d = self.daemon(f"""
jobs:
  flaky:
    schedule: "0 0 1 1 *"
    command: [{CHILD}, print, trying, exit, "3"]
    retries: {{max: 2, delay: 200ms, backoff: exponential}}
""")
        r = d.tend("run", "flaky", "--wait", timeout=30)
        self.assertEqual(r.returncode, 1)
        runs = d.history("flaky")
        self.assertEqual([x["attempt"] for x in runs], [3, 2, 1])
        self.assertEqual(len({x["run_id"] for x in runs}), 1)
        self.assertTrue(all(x["exit_code"] == 3 and x["outcome"] == "failure" for x in runs))
        self.assertEqual(d.log_text().count("event=RETRY"), 2)
        self.assertIn("kind=job name=flaky event=failure status=firing", d.log_text())

    def test_forbid_skips_overlapping_ticks(self):
        d = self.daemon(f"""
jobs:
  slow:
    schedule: "* * * * * *"
    command: [{CHILD}, sleep, "2500"]
    concurrency: forbid
""")
        wait_for(lambda: [r for r in d.history("slow") if r["outcome"] == "skipped"], what="a skipped tick")
        runs = d.history("slow")
        running = [r for r in runs if r["outcome"] == "running"]
        self.assertLessEqual(len(running), 1)
        skipped = [r for r in runs if r["outcome"] == "skipped"][0]
        self.assertIn("still running", skipped["reason"])

    def test_run_wait_success_and_unknown_job(self):
        d = self.daemon(f"""
jobs:
  ok:
    schedule: "@daily"
    shell: "echo from-shell $TEND_JOB"
""")
        r = d.tend("run", "ok", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("from-shell ok", r.stdout)
        r = d.tend("run", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown job 'nope'", r.stderr)

    def test_output_flood_is_capped(self):
        d = self.daemon(f"""
jobs:
  flood:
    schedule: "@daily"
    command: [{CHILD}, spam-stdout, "20000000", print, THE-END]
""")
        r = d.tend("run", "flood", "--wait", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = d.tend("output", "flood").stdout
        self.assertLessEqual(len(out), 64 * 1024 + 200)
        self.assertIn("THE-END", out)
        self.assertIn("earlier bytes dropped", out)

    def test_pause_and_resume(self):
        d = self.daemon(f"""
jobs:
  tick:
    schedule: "* * * * * *"
    command: [{CHILD}, exit, "0"]
""")
        r = d.tend("pause", "tick", "--for", "1h")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(d.entry("tick")["paused"])
        wait_for(lambda: "event=PAUSED" in d.log_text(), what="a held tick")
        self.assertEqual(d.tend("resume", "tick").returncode, 0)
        self.assertFalse(d.entry("tick")["paused"])

    def test_json_log_lines_are_json(self):
        d = self.daemon("", start=False)
        d.write_config(f"""daemon:
  state_dir: {d.state_dir}
  socket: {d.socket}
  log: {{level: info, format: json}}
jobs:
  "quote.job":
    schedule: "@daily"
    shell: "echo 'a \\"quoted\\" line'; exit 4"
""")
        d.start()
        r = d.tend("run", "quote.job", "--wait")
        self.assertEqual(r.returncode, 1)
        # The log is written by spdlog's async thread: wait for the line, then every line is JSON.
        wait_for(lambda: "event=FAILURE exit=4" in d.log_text(), what="the FAILURE log line")
        lines = [l for l in d.log_text().splitlines() if l.strip()]
        docs = [json.loads(l) for l in lines]
        self.assertTrue(any("event=FAILURE exit=4" in doc["msg"] and doc["module"] == "jobs" for doc in docs))


if __name__ == "__main__":
    unittest.main()
