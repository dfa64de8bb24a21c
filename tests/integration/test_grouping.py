"""Alert storms become one message (SPEC "Alert grouping, inhibition, flapping"), end to end: the
real tendd, real probes against a real HTTP target on loopback, and a real receiver standing in
for Slack, Discord and a webhook (receiver.py)."""

import json
import os
import socket
import time
import unittest

from harness import TendTestCase, wait_for

PROBES = 50


class GroupingTest(TendTestCase):
    def groups(self, d):
        return d.status()["alerts"]["groups"]

    def test_fifty_probes_down_are_one_message_per_notifier_and_one_resolve(self):
        target = self.receiver(mode="error")  # every probe's target answers 500
        rcv = self.receiver()
        probes = "\n".join(f"  api{i:02}: {{url: \"{target.url}/p{i}\", interval: 1s, timeout: 2s, "
                           f"failure_threshold: 1, success_threshold: 1}}" for i in range(PROBES))
        d = self.daemon(f"""
notifiers:
  team: {{type: slack,   url: "{rcv.url}/slack"}}
  ops:  {{type: discord, url: "{rcv.url}/discord"}}
  hook: {{type: webhook, url: "{rcv.url}/hook"}}
alerts:
  routes:
    - notify: [team, ops, hook]
  group_by: [kind, event]
  group_wait: 5s
  group_interval: 4s
probes:
{probes}
""")
        def down():
            return sum(1 for e in d.status()["entries"] if e["kind"] == "probe" and e["state"] == "down")
        wait_for(lambda: down() == PROBES, timeout=30, what="every probe down")
        all_down = time.monotonic()
        for path in ("/slack", "/discord", "/hook"):
            rcv.wait_for(count=1, path_prefix=path, timeout=30, what=f"the group's message at {path}")
        first = {p: rcv.requests(p)[0] for p in ("/slack", "/discord", "/hook")}
        for p, r in first.items():
            # It waited group_wait for company and not much longer.
            self.assertLessEqual(r.at - all_down, 5 + 2, f"{p} came late")
        hook = first["/hook"].json
        self.assertEqual(hook["version"], 1)
        self.assertEqual((hook["status"], hook["kind"], hook["event"]), ("firing", "probe", "down"))
        # The key: the group_by labels' values, and the route's notifiers (a group never mixes routes).
        self.assertEqual(hook["group"]["key"], "kind=probe,event=down -> team,ops,hook")
        members = hook["group"]["members"]
        self.assertEqual(sorted(m["name"] for m in members), [f"api{i:02}" for i in range(PROBES)])
        self.assertTrue(all("version" not in m and m["status"] == "firing" for m in members))
        self.assertIn("50 alerts", hook["summary"])
        # Slack: headline with the count, one line per member within its limit.
        slack = first["/slack"].json
        self.assertIn("50 alerts", slack["text"])
        lines = slack["attachments"][0]["text"]
        self.assertIn("api00", lines)
        self.assertEqual(lines.count("\n"), PROBES, "one line per member")
        discord = first["/discord"].json
        self.assertIn("50 alerts", discord["content"])
        self.assertIn("api49", discord["embeds"][0]["description"])
        # One message per notifier while the storm lasts (probes keep failing every second).
        (g,) = [g for g in self.groups(d) if g["notifier"] == "hook"]
        self.assertEqual(len(g["firing"]), PROBES)
        for p in ("/slack", "/discord", "/hook"):
            self.assertEqual(len(rcv.requests(p)), 1, p)
        text = d.tend("alerts", "-n", "5")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertRegex(text.stdout, r"(?m)^groups:\n")
        self.assertRegex(text.stdout, r"(?m)^hook +kind=probe,event=down -> team,ops,hook +50 ")

        # The target comes back: one resolved message per notifier, naming every member.
        target.set_mode("ok")
        for path in ("/slack", "/discord", "/hook"):
            rcv.wait_for(count=2, path_prefix=path, timeout=40, what=f"the group's resolve at {path}")
        wait_for(lambda: not self.groups(d), timeout=30, what="the groups to close")
        last = rcv.requests("/hook")[-1].json
        self.assertEqual(last["status"], "resolved")
        self.assertEqual(len(last["group"]["members"]), PROBES)
        self.assertTrue(all(m["status"] == "resolved" for m in last["group"]["members"]))
        self.assertNotEqual(last["id"], hook["id"])
        for p in ("/slack", "/discord", "/hook"):
            self.assertEqual(len(rcv.requests(p)), 2, p)

    def test_kill9_during_group_wait_sends_the_group_once(self):
        target = self.receiver(mode="error")
        rcv = self.receiver()
        config = f"""
notifiers:
  hook: {{type: webhook, url: "{rcv.url}/hook"}}
alerts:
  routes:
    - notify: [hook]
  group_by: [event]
  group_wait: 4s
probes:
""" + "\n".join(f"  p{i}: {{url: \"{target.url}/p{i}\", interval: 1s, failure_threshold: 1}}" for i in range(5))
        d = self.daemon(config)
        wait_for(lambda: sum(1 for e in d.status()["entries"] if e["state"] == "down") == 5, timeout=30,
                 what="five probes down")
        self.assertEqual(rcv.requests("/hook"), [], "sent before group_wait")
        d.kill9()
        d.start()
        rcv.wait_for(count=1, path_prefix="/hook", timeout=30, what="the group after the restart")
        # Give a duplicate every chance to appear: until the daemon has nothing pending any more.
        wait_for(lambda: all(n["pending"] == 0 for n in d.status()["alerts"]["notifiers"]), timeout=30,
                 what="outbox empty")
        msgs = [r.json for r in rcv.requests("/hook") if r.json and r.json["event"] == "down"]
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(sorted(m["name"] for m in msgs[0]["group"]["members"]), [f"p{i}" for i in range(5)])

    def test_inhibited_alert_is_recorded_not_sent_until_the_source_resolves(self):
        rcv = self.receiver()
        d = self.daemon(f"""
notifiers:
  hook: {{type: webhook, url: "{rcv.url}/hook"}}
alerts:
  routes:
    - notify: [hook]
  inhibit:
    - source: {{name: db}}
      target: {{name: "app-*"}}
checks:
  db:    {{every: 1h, grace: 1h}}
  app-1: {{every: 1h, grace: 1h}}
""")
        self.assertEqual(d.tend("ping", "db", "fail").returncode, 0)
        rcv.wait_for(count=1, path_prefix="/hook", what="db's alert")
        self.assertEqual(d.tend("ping", "app-1", "fail").returncode, 0)
        wait_for(lambda: any(a["name"] == "app-1" for a in d.status()["alerts"]["firing"]), what="app-1 firing")
        (held,) = [a for a in d.status()["alerts"]["firing"] if a["name"] == "app-1"]
        self.assertIsNotNone(held["inhibited_by"])
        text = d.tend("alerts")
        self.assertRegex(text.stdout, r"inhibited by ")
        self.assertRegex(text.stdout, r"(?m)^check +app-1 +failure +critical +.* inhibited by ")
        self.assertEqual([r.json["name"] for r in rcv.requests("/hook")], ["db"])
        # The source resolves: the target, still firing, is sent.
        self.assertEqual(d.tend("ping", "db", "success").returncode, 0)
        rcv.wait_for(count=3, path_prefix="/hook", what="db resolved and app-1 sent")
        sent = [(r.json["name"], r.json["status"]) for r in rcv.requests("/hook")]
        self.assertIn(("db", "resolved"), sent)
        self.assertIn(("app-1", "firing"), sent)

    def test_ping_flood_is_a_handful_of_notifications_and_the_daemon_keeps_answering(self):
        rcv = self.receiver()
        d = self.daemon(f"""
notifiers:
  hook: {{type: webhook, url: "{rcv.url}/hook"}}
alerts:
  routes:
    - notify: [hook]
  flapping: {{changes: 6, window: 10m}}
checks:
  flaky: {{every: 1h, grace: 1h}}
""")
        # 500 fail/success pairs, as fast as one connection takes them.
        answers = {"ok": 0, "refused": 0}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.socket)
            f = s.makefile("rwb")
            for i in range(1000):
                what = "fail" if i % 2 == 0 else "success"
                f.write((json.dumps({"cmd": "ping", "name": "flaky", "what": what}) + "\n").encode())
                f.flush()
                reply = json.loads(f.readline())
                answers["ok" if reply["ok"] else "refused"] += 1
        self.assertGreater(answers["refused"], 0, "the flood was not rate-limited")
        started = time.monotonic()
        self.assertEqual(d.tend("status").returncode, 0)
        self.assertLess(time.monotonic() - started, 5, "status slow after the flood")
        # What reached the receiver: a few changes, then one flapping notice, then quiet.
        rcv.wait_for(lambda r: r.json and r.json["status"] == "flapping", path_prefix="/hook",
                     what="the flapping notice")
        wait_for(lambda: all(n["pending"] == 0 for n in d.status()["alerts"]["notifiers"]), timeout=30,
                 what="outbox empty")
        statuses = [r.json["status"] for r in rcv.requests("/hook")]
        self.assertLessEqual(len(statuses), 8, statuses)
        self.assertEqual(statuses.count("flapping"), 1, statuses)
        self.assertEqual(statuses[-1], "flapping", statuses)
        (a,) = [a for a in d.status()["alerts"]["firing"] if a["name"] == "flaky"] or [None]
        self.assertTrue(a is None or a["flapping"], a)


if __name__ == "__main__":
    unittest.main()
