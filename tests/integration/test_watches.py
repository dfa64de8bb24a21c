"""Watches through the real tendd: real log lines appended at a controlled 5xx share, warning,
critical and resolved events with their figures, rotation both ways, a file created later."""

import json
import os
import shutil
import unittest

from harness import TendTestCase, wait_for


def combined(status, i=0):
    return (f'203.0.113.{i % 250} - - [21/Nov/2026:10:00:{i % 60:02d} +0000] "GET /api/items/{i}?q=\\"x\\" HTTP/1.1" '
            f'{status} {100 + i} "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"\n')


def block(requests, errors, fmt="combined", start=0):
    """`requests` lines of which `errors` are 5xx, spread evenly (a partial read sees the same share)."""
    lines = []
    for i in range(requests):
        bad = errors and (i * errors // requests) != ((i + 1) * errors // requests)
        status = 503 if bad else 200
        if fmt == "json":
            lines.append(json.dumps({"time": "2026-11-21T10:00:00+00:00", "status": str(status), "uri": f"/x/{i}"}) + "\n")
        else:
            lines.append(combined(status, start + i))
    return "".join(lines)


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


class WatchesTest(TendTestCase):
    def config(self, logfile, fmt="combined", window="1m", min_requests=20, warning="5%", critical="20%"):
        return f"""
watches:
  web:
    file: {logfile}
    format: {fmt}
    window: {window}
    min_requests: {min_requests}
    warning: {warning}
    critical: {critical}
"""

    def setUp(self):
        super().setUp()
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.logs)
        self.log = os.path.join(self.logs, "access.log")

    def test_warning_critical_and_resolved_with_figures(self):
        append(self.log, block(500, 400))  # old lines: reading starts at the end, these never count
        d = self.daemon(self.config(self.log))
        wait_for(lambda: d.entry("web")["following"], what="the watch to open its file")
        self.assertEqual(d.entry("web")["requests"], 0)

        append(self.log, block(100, 10))  # 10%: warning
        e = wait_for(lambda: (lambda e: e if e["requests"] == 100 else None)(d.entry("web")), what="100 requests")
        self.assertEqual(e["state"], "warning", self.dump(d))
        self.assertEqual(e["errors"], 10)
        self.assertEqual(e["rate"], 10.0)
        self.assertEqual(e["unparsed"], 0)
        wait_for(lambda: "kind=watch name=web event=error_rate status=firing severity=warning" in d.log_text(),
                 what="the warning event")
        self.assertIn('summary="watch web: 10% 5xx (10 of 100 requests in 1m), at or above the warning threshold 5%"',
                      d.log_text())

        append(self.log, block(100, 50))  # 60 of 200 = 30%: critical
        e = wait_for(lambda: (lambda e: e if e["requests"] == 200 else None)(d.entry("web")), what="200 requests")
        self.assertEqual(e["state"], "critical", self.dump(d))
        self.assertEqual((e["errors"], e["rate"]), (60, 30.0))
        wait_for(lambda: "kind=watch name=web event=error_rate status=firing severity=critical" in d.log_text(),
                 what="the critical event")
        self.assertIn("30% 5xx (60 of 200 requests in 1m), at or above the critical threshold 20%", d.log_text())

        append(self.log, block(2800, 0))  # 60 of 3000 = 2%: resolved once that holds for window/10
        wait_for(lambda: d.entry("web")["state"] == "ok", timeout=30, what="the watch to return to ok")
        e = d.entry("web")
        self.assertEqual((e["requests"], e["errors"], e["rate"]), (3000, 60, 2.0))
        wait_for(lambda: "kind=watch name=web event=error_rate status=resolved" in d.log_text(),
                 what="the resolved event")
        self.assertIn("5xx rate back to 2% 5xx (60 of 3000 requests in 1m), below the warning threshold 5%",
                      d.log_text())
        self.assertRegex(d.log_text(), r"watch=web event=STATE from=critical to=ok rate=2% requests=3000 errors=60")

    def test_rotation_by_rename_and_by_copytruncate_keeps_counting(self):
        append(self.log, "")
        d = self.daemon(self.config(self.log, warning="50%", critical="90%"))
        wait_for(lambda: d.entry("web")["following"], what="the watch to open its file")
        append(self.log, block(50, 0))
        wait_for(lambda: d.entry("web")["total_requests"] == 50, what="50 requests")

        # logrotate's default: rename, create a new file; the writer keeps writing to the old one
        # until it reopens (nginx: USR1).
        rotated = self.log + ".1"
        os.rename(self.log, rotated)
        append(rotated, block(7, 0, start=100))
        append(self.log, block(30, 0, start=200))
        wait_for(lambda: d.entry("web")["total_requests"] == 87, what="87 requests after the rename")
        e = d.entry("web")
        self.assertEqual(e["rotations"], 1)
        self.assertEqual(e["offset"], len(block(30, 0, start=200)))
        self.assertRegex(d.log_text(), r"watch=web event=(ROTATED|GONE)")

        # copytruncate: copy away, truncate in place, the writer appends at the new end.
        append(self.log, block(40, 0, start=300))
        wait_for(lambda: d.entry("web")["total_requests"] == 127, what="127 requests")
        shutil.copyfile(self.log, self.log + ".2")
        with open(self.log, "r+") as f:
            f.truncate(0)
        append(self.log, block(20, 0, start=400))
        wait_for(lambda: d.entry("web")["total_requests"] == 147, what="147 requests after the truncation")
        e = d.entry("web")
        self.assertEqual(e["truncations"], 1)
        self.assertEqual(e["unparsed"], 0)
        self.assertIn("event=TRUNCATED", d.log_text())

    def test_a_file_created_after_start_is_read_from_its_beginning(self):
        d = self.daemon(self.config(self.log, fmt="json", min_requests=5))
        e = d.entry("web")
        self.assertFalse(e["following"])
        append(self.log, block(10, 5, fmt="json") + "not json at all\n{\"status\": \"abc\"}\n")
        e = wait_for(lambda: (lambda e: e if e["total_requests"] == 10 else None)(d.entry("web")), what="10 requests")
        self.assertEqual(e["unparsed"], 2)
        self.assertEqual(e["state"], "critical")
        self.assertIn("event=UNPARSED", d.log_text())

    def test_a_missing_directory_is_waited_for(self):
        late_dir = os.path.join(self.dir, "later")
        logfile = os.path.join(late_dir, "access.log")
        d = self.daemon(self.config(logfile, min_requests=5))
        self.assertFalse(d.entry("web")["following"])
        os.makedirs(late_dir)
        append(logfile, block(10, 0))
        wait_for(lambda: d.entry("web")["total_requests"] == 10, what="the file in a directory created later")

    def test_pause_holds_events_and_reload_applies_new_thresholds(self):
        append(self.log, "")
        d = self.daemon(self.config(self.log))
        wait_for(lambda: d.entry("web")["following"], what="the watch to open its file")
        r = d.tend("pause", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        append(self.log, block(100, 10))
        wait_for(lambda: d.entry("web")["state"] == "warning", what="warning while paused")
        self.assertTrue(d.entry("web")["paused"])
        self.assertNotIn("name=web event=error_rate status=firing", d.log_text())
        r = d.tend("resume", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: "name=web event=error_rate status=firing severity=warning" in d.log_text(),
                 what="the warning after resume")

        d.write_config(self.config(self.log, warning="2%", critical="8%"))
        r = d.tend("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("changed web", r.stdout)
        wait_for(lambda: d.entry("web")["state"] == "critical", what="critical under the new thresholds")
        self.assertEqual(d.entry("web")["requests"], 100)  # the window survived the reload


if __name__ == "__main__":
    unittest.main()
