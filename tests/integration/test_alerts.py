"""Alerting end to end: the real tendd delivers to a real HTTP receiver on loopback (receiver.py)
as Slack, Discord and a generic webhook. Payload v1 and the native chat shapes, routing, grouping
of bursts, repeat and escalation, the durable outbox (kill -9, 429 + Retry-After, giving up,
rejects), silences, test-alert, redaction of secrets everywhere, the heartbeat and the digest."""

import collections
import json
import os
import re
import signal
import sqlite3
import time
import unittest

from harness import CHILD, TendTestCase, wait_for

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PAYLOAD_KEYS = {"version", "id", "status", "event", "severity", "kind", "name", "summary", "detail", "host",
                "environment", "started_at", "ended_at", "occurrences", "labels"}
ID = re.compile(r"^[0-9a-f]{32}$")


def hook_route(rcv):
    """A webhook notifier `hook` posting to the receiver's /hook, and the route that sends it every alert."""
    return f"""notifiers:
  hook: {{type: webhook, url: "{rcv.url}/hook"}}
alerts:
  routes:
    - notify: [hook]"""


def fail_job(name, okfile=None, schedule="@daily", extra=""):
    """A job that prints boom and exits 3, unless okfile exists (then it succeeds)."""
    guard = f"test -e {okfile} && echo fine && exit 0; " if okfile else ""
    return f"""
  {name}:
    schedule: "{schedule}"
    command: [sh, -c, "{guard}echo boom; exit 3"]
{extra}"""


class AlertsTest(TendTestCase):
    # ---- helpers ----

    def lane(self, d, name):
        for n in d.status()["alerts"]["notifiers"]:
            if n["name"] == name:
                return n
        raise AssertionError(f"no notifier {name} in status")

    def settle(self, d, **sent):
        """Wait until nothing is pending anywhere and each named notifier has sent that many."""
        def done():
            lanes = {n["name"]: n for n in d.status()["alerts"]["notifiers"]}
            return (all(n["pending"] == 0 for n in lanes.values())
                    and all(lanes[k]["sent"] == v for k, v in sent.items()) and lanes)
        return wait_for(done, timeout=30, what=f"outbox to settle with sent={sent}")

    def run_job(self, d, name, expect_rc):
        r = d.tend("run", name, "--wait")
        self.assertEqual(r.returncode, expect_rc, r.stderr)
        return r

    def alert_log(self, d, name=None, n=200):
        args = ["alerts"] + ([name] if name else []) + ["-n", str(n), "--json"]
        r = d.tend(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["alerts"]

    # ---- payloads ----

    def test_webhook_payload_v1_firing_then_resolved(self):
        rcv = self.receiver()
        ok = os.path.join(self.dir, "ok")
        d = self.daemon(f"""
notifiers:
  hook:
    type: webhook
    url: "{rcv.url}/hook"
    headers: {{X-Tend-Test: custom-value-1}}
alerts:
  routes:
    - notify: [hook]
jobs:{fail_job("flaky", ok)}""")
        self.run_job(d, "flaky", 1)
        (fire,) = rcv.wait_for(what="the firing notification")
        run = d.history("flaky")[0]
        self.assertEqual((fire.method, fire.path), ("POST", "/hook"))
        self.assertEqual(fire.headers["x-tend-test"], "custom-value-1")
        self.assertEqual(fire.headers["content-type"], "application/json")
        self.assertTrue(fire.headers["user-agent"].startswith("tend/"), fire.headers)
        p = fire.json
        self.assertEqual(set(p), PAYLOAD_KEYS, p)
        self.assertRegex(p["id"], ID)
        self.assertRegex(p["started_at"], ISO)
        self.assertEqual({k: v for k, v in p.items() if k not in ("id", "started_at")}, {
            "version": 1, "status": "firing", "event": "failure", "severity": "critical", "kind": "job",
            "name": "flaky", "summary": "job flaky failed (exit 3) after 1 attempt", "detail": "boom",
            "host": "test-host", "environment": "test", "ended_at": None, "occurrences": 1,
            "labels": {"run_id": str(run["run_id"]), "attempt": "1", "exit_code": "3"}})
        self.assertLessEqual(run["started_at"], p["started_at"])

        open(ok, "w").close()
        self.run_job(d, "flaky", 0)
        resolved = rcv.wait_for(count=2, what="the resolve")[1].json
        self.assertEqual(set(resolved), PAYLOAD_KEYS, resolved)
        self.assertEqual((resolved["status"], resolved["event"], resolved["kind"], resolved["name"]),
                         ("resolved", "failure", "job", "flaky"))
        self.assertEqual(resolved["started_at"], p["started_at"])
        self.assertRegex(resolved["ended_at"] or "", ISO)
        self.assertGreaterEqual(resolved["ended_at"], resolved["started_at"])
        self.assertEqual(resolved["summary"], "job flaky succeeded again after 1 failed run")
        self.assertEqual((resolved["severity"], resolved["occurrences"], resolved["version"]), ("critical", 1, 1))

        os.unlink(ok)  # fails again: a new alert, a new id
        self.run_job(d, "flaky", 1)
        third = rcv.wait_for(count=3, what="the second firing")[2].json
        self.assertEqual((third["status"], third["occurrences"], third["ended_at"]), ("firing", 1, None))
        self.settle(d, hook=3)
        ids = [r.json["id"] for r in rcv.requests()]
        self.assertEqual(len(ids), 3)
        self.assertEqual(len(set(ids)), 3, ids)
        self.assertEqual([(r["status"], r["action"], r["notifiers"]) for r in reversed(self.alert_log(d, "flaky"))],
                         [("firing", "firing", "hook"), ("resolved", "resolved", "hook"), ("firing", "firing", "hook")])

    def test_libcurl_is_loaded_with_the_first_transfer_that_needs_it(self):
        # tendd is not linked against libcurl (http/curl_api.cpp): plain-http probes go through the
        # plain client, and libcurl with its dependency tree (OpenSSL, gnutls, krb5, ...) is mapped
        # only when an alert is first sent.
        rcv = self.receiver()
        d = self.daemon(f"""
{hook_route(rcv)}
probes:
  web: {{url: "{rcv.url}/health", interval: 1s}}
jobs:{fail_job("flaky")}""")

        def mapped(name):
            with open(f"/proc/{d.proc.pid}/maps") as f:
                return name in f.read()
        wait_for(lambda: [r for r in rcv.requests() if r.path == "/health"], timeout=30, what="a probe request")
        self.assertFalse(mapped("libcurl"), "libcurl mapped before any transfer needed it")
        self.assertFalse(mapped("libcrypto"))
        self.run_job(d, "flaky", 1)
        wait_for(lambda: [r for r in rcv.requests() if r.path == "/hook"], timeout=30, what="the alert")
        self.assertTrue(mapped("libcurl"))

    def test_pagerduty_events_v2_trigger_then_resolve_one_incident(self):
        rcv = self.receiver()
        ok = os.path.join(self.dir, "ok")
        key = "0123456789abcdef0123456789abcdef"
        d = self.daemon(f"""
notifiers:
  pager: {{type: pagerduty, url: "{rcv.url}/v2/enqueue", routing_key: "${{env:PD_KEY}}"}}
alerts:
  routes:
    - notify: [pager]
jobs:{fail_job("flaky", ok)}""", env={"PD_KEY": key})
        self.run_job(d, "flaky", 1)
        (fire,) = rcv.wait_for(what="the trigger")
        self.assertEqual((fire.method, fire.path), ("POST", "/v2/enqueue"))
        t = fire.json
        self.assertEqual((t["routing_key"], t["event_action"], t["client"]), (key, "trigger", "tend"))
        self.assertEqual(t["dedup_key"], "tend/test-host/job/flaky/failure")
        self.assertEqual({k: t["payload"][k] for k in ("summary", "source", "severity", "component", "group", "class")},
                         {"summary": "job flaky failed (exit 3) after 1 attempt", "source": "test-host",
                          "severity": "critical", "component": "flaky", "group": "job", "class": "failure"})
        self.assertEqual(t["payload"]["custom_details"]["detail"], "boom")
        open(ok, "w").close()
        self.run_job(d, "flaky", 0)
        resolve = rcv.wait_for(count=2, what="the resolve")[1].json
        # The resolve names the incident the trigger opened, and nothing else.
        self.assertEqual(resolve, {"routing_key": key, "dedup_key": t["dedup_key"], "event_action": "resolve"})
        self.settle(d, pager=2)
        # The routing key is a secret: not in status, not in the log.
        self.assertNotIn(key, json.dumps(d.status()))
        self.assertNotIn(key, d.log_text())

    def test_firing_alert_survives_a_restart_and_resolves(self):
        rcv = self.receiver()
        ok = os.path.join(self.dir, "ok")
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("flaky", ok)}""")
        self.run_job(d, "flaky", 1)
        (fire,) = rcv.wait_for(what="the firing")
        self.settle(d, hook=1)
        self.assertEqual(d.stop(), 0)
        d.start()
        (firing,) = d.status()["alerts"]["firing"]
        self.assertEqual((firing["name"], firing["occurrences"], firing["since"]),
                         ("flaky", 1, fire.json["started_at"]))
        self.run_job(d, "flaky", 1)  # still the same alert: grouped, not notified again
        self.assertEqual(self.alert_log(d, "flaky")[0]["action"], "grouped")
        open(ok, "w").close()
        self.run_job(d, "flaky", 0)
        resolved = rcv.wait_for(count=2, what="the resolve after the restart")[1].json
        self.assertEqual((resolved["status"], resolved["started_at"], resolved["occurrences"]),
                         ("resolved", fire.json["started_at"], 2))
        self.settle(d, hook=1)  # counters start over with the daemon
        self.assertEqual(len(rcv.requests()), 2)
        self.assertEqual(d.status()["alerts"]["firing"], [])

    def test_send_resolved_false_sends_no_resolve(self):
        rcv = self.receiver()
        ok = os.path.join(self.dir, "ok")
        d = self.daemon(f"""
{hook_route(rcv)}
  send_resolved: false
jobs:{fail_job("flaky", ok)}""")
        self.run_job(d, "flaky", 1)
        open(ok, "w").close()
        self.run_job(d, "flaky", 0)
        self.settle(d, hook=1)
        self.assertEqual([r.json["status"] for r in rcv.requests()], ["firing"])
        self.assertEqual([(r["status"], r["action"]) for r in self.alert_log(d, "flaky")],
                         [("resolved", "closed"), ("firing", "firing")])
        self.assertEqual(d.status()["alerts"]["firing"], [])

    def test_slack_and_discord_native_shapes(self):
        rcv = self.receiver()
        ok = os.path.join(self.dir, "ok")
        d = self.daemon(f"""
notifiers:
  team:  {{type: slack,   url: "{rcv.url}/services/T0/B0/xyz"}}
  ops:   {{type: discord, url: "{rcv.url}/api/webhooks/1/abc"}}
alerts:
  routes:
    - notify: [team, ops]
jobs:{fail_job("flaky", ok)}
  tricky:
    schedule: "@daily"
    command: [sh, -c, "echo '<!channel> a&b @everyone'; exit 1"]
""")
        self.run_job(d, "flaky", 1)
        slack = rcv.wait_for(path_prefix="/services/", what="slack firing")[0].json
        discord = rcv.wait_for(path_prefix="/api/webhooks/", what="discord firing")[0].json
        head = "🚨 [test] FIRING critical · job flaky failed (exit 3) after 1 attempt"

        self.assertEqual(set(slack), {"text", "attachments"})
        self.assertEqual(slack["text"], head)
        att = slack["attachments"][0]
        self.assertEqual(att["color"], "#d40e0d")
        self.assertEqual(att["title"], "job flaky failed (exit 3) after 1 attempt")
        self.assertEqual(att["text"], "```boom```")
        fields = {f["title"]: f["value"] for f in att["fields"]}
        self.assertEqual({k: fields[k] for k in ("Kind", "Name", "Event", "Severity", "Host", "Environment",
                                                 "Occurrences", "exit_code")},
                         {"Kind": "job", "Name": "flaky", "Event": "failure", "Severity": "critical",
                          "Host": "test-host", "Environment": "test", "Occurrences": "1", "exit_code": "3"})
        self.assertRegex(fields["Started"], ISO)
        self.assertNotIn("Ended", fields)
        self.assertTrue(all(f["short"] is True for f in att["fields"]))

        self.assertEqual(set(discord), {"content", "embeds", "allowed_mentions"})
        self.assertEqual(discord["content"], head)
        self.assertEqual(discord["allowed_mentions"], {"parse": []})
        emb = discord["embeds"][0]
        self.assertEqual(emb["color"], 0xD40E0D)
        self.assertEqual(emb["title"], "job flaky failed (exit 3) after 1 attempt")
        self.assertEqual(emb["description"], "```\nboom\n```")
        dfields = {f["name"]: f["value"] for f in emb["fields"]}
        self.assertEqual({k: dfields[k] for k in fields}, fields)  # the same facts
        self.assertTrue(all(f["inline"] is True for f in emb["fields"]))
        self.assertRegex(emb["timestamp"], ISO)

        open(ok, "w").close()
        self.run_job(d, "flaky", 0)
        slack2 = rcv.wait_for(count=2, path_prefix="/services/", what="slack resolve")[1].json
        discord2 = rcv.wait_for(count=2, path_prefix="/api/webhooks/", what="discord resolve")[1].json
        self.assertTrue(slack2["text"].startswith("✅ [test] RESOLVED critical · job flaky succeeded again"),
                        slack2["text"])
        self.assertEqual(slack2["attachments"][0]["color"], "#2eb886")
        ended = {f["title"]: f["value"] for f in slack2["attachments"][0]["fields"]}["Ended"]
        self.assertRegex(ended, ISO)
        self.assertEqual(discord2["content"], slack2["text"])
        self.assertEqual(discord2["embeds"][0]["color"], 0x2EB886)
        self.assertEqual({f["name"]: f["value"] for f in discord2["embeds"][0]["fields"]}["Ended"], ended)
        self.settle(d, team=2, ops=2)
        self.assertEqual(len(rcv.requests()), 4)

        # Job output can neither mention nor link: Slack text is escaped, Discord mentions are off.
        self.run_job(d, "tricky", 1)
        slack3 = rcv.wait_for(count=3, path_prefix="/services/", what="slack tricky")[2].json
        discord3 = rcv.wait_for(count=3, path_prefix="/api/webhooks/", what="discord tricky")[2].json
        self.assertEqual(slack3["attachments"][0]["text"], "```&lt;!channel&gt; a&amp;b @everyone```")
        self.assertEqual(discord3["embeds"][0]["description"], "```\n<!channel> a&b @everyone\n```")
        self.assertEqual(discord3["allowed_mentions"], {"parse": []})

    # ---- routing ----

    def test_routing_match_first_wins_and_continue_fans_out(self):
        rcv = self.receiver()
        hooks = ["prod", "named", "checks", "jobwarn", "archive", "crit", "fallback"]
        notifiers = "".join(f'  {h}: {{type: webhook, url: "{rcv.url}/{h}"}}\n' for h in hooks)
        d = self.daemon(f"""
notifiers:
{notifiers}alerts:
  routes:
    - match: {{environment: production, severity: critical}}
      notify: [prod]
    - match: {{name: "db-*"}}
      notify: [named]
    - match: {{kind: check}}
      notify: [checks]
    - match: {{severity: warning, kind: job}}
      notify: [jobwarn]
      continue: true
    - notify: [archive]
      continue: true
    - match: {{severity: critical}}
      notify: [crit]
    - notify: [fallback]
jobs:{fail_job("db-backup")}{fail_job("warnjob", extra="    severity: warning")}{fail_job("critjob")}
checks:
  nightly:
    every: 1h
    grace: 1h
""")
        self.run_job(d, "db-backup", 1)   # critical, but the name glob matches first: named only
        self.run_job(d, "warnjob", 1)     # jobwarn, continue to archive, continue to fallback
        self.run_job(d, "critjob", 1)     # archive (continue), crit: stop
        r = d.tend("ping", "nightly", "--exit", "1")  # kind check: checks only
        self.assertEqual(r.returncode, 0, r.stderr)
        self.settle(d, prod=0, named=1, checks=1, jobwarn=1, archive=2, crit=1, fallback=1)
        got = collections.defaultdict(list)
        for req in rcv.requests():
            got[req.path.strip("/")].append(req.json["name"])
        self.assertEqual({k: sorted(v) for k, v in got.items()}, {
            "named": ["db-backup"], "checks": ["nightly"], "jobwarn": ["warnjob"],
            "archive": ["critjob", "warnjob"], "crit": ["critjob"], "fallback": ["warnjob"]})
        sev = {req.json["name"]: req.json["severity"] for req in rcv.requests()}
        self.assertEqual(sev, {"db-backup": "critical", "warnjob": "warning", "critjob": "critical",
                               "nightly": "critical"})
        rows = {r["name"]: r["notifiers"] for r in self.alert_log(d) if r["action"] == "firing"}
        self.assertEqual(rows["warnjob"], "jobwarn,archive,fallback")
        self.assertEqual(rows["critjob"], "archive,crit")

    # ---- lifecycle ----

    def test_burst_is_one_notification_per_notifier(self):
        rcv = self.receiver()
        d = self.daemon(f"""
notifiers:
  team: {{type: slack,   url: "{rcv.url}/slack"}}
  hook: {{type: webhook, url: "{rcv.url}/hook"}}
alerts:
  routes:
    - notify: [team, hook]
jobs:{fail_job("burst", schedule="@every 1s")}""")

        def occurrences():
            f = [a for a in d.status()["alerts"]["firing"] if a["name"] == "burst"]
            return f[0]["occurrences"] if f else 0
        wait_for(lambda: occurrences() >= 6, timeout=40, what="six failures of burst")
        self.assertEqual(d.tend("pause", "burst").returncode, 0)
        wait_for(lambda: not d.entry("burst")["running"], what="the last run of burst to end")
        self.settle(d, team=1, hook=1)
        self.assertEqual(len(rcv.requests("/slack")), 1)
        self.assertEqual(len(rcv.requests("/hook")), 1)
        self.assertEqual(rcv.requests("/hook")[0].json["occurrences"], 1)
        (firing,) = [a for a in d.status()["alerts"]["firing"] if a["name"] == "burst"]
        self.assertEqual((firing["kind"], firing["event"], firing["severity"], firing["silenced"]),
                         ("job", "failure", "critical", False))
        self.assertGreaterEqual(firing["occurrences"], 6)
        # The alert log has the firing line; more of the same adds a line at most once a minute.
        rows = self.alert_log(d, "burst")
        self.assertEqual([(r["status"], r["action"], r["notifiers"], r["occurrences"]) for r in rows],
                         [("firing", "firing", "team,hook", 1)])
        (last,) = json.loads(d.tend("alerts", "-n", "1", "--json").stdout)["alerts"]
        self.assertEqual(last, rows[0])
        self.assertEqual(d.tend("alerts", "-n", "0").returncode, 2)
        text = d.tend("alerts", "burst")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertRegex(text.stdout, r"(?m)^AT +KIND +NAME +EVENT +STATUS +SEVERITY +COUNT +ACTION +NOTIFIERS +SUMMARY")
        self.assertRegex(text.stdout, r"(?m) job +burst +failure +firing +critical +1 +firing +team,hook +job burst failed")

    def test_repeat_while_firing_and_escalate_once(self):
        rcv = self.receiver()
        d = self.daemon(f"""
notifiers:
  team:  {{type: slack, url: "{rcv.url}/team"}}
  pager: {{type: slack, url: "{rcv.url}/pager"}}
alerts:
  routes:
    - notify: [team]
  repeat_interval: 2s
  escalate: {{after: 3s, notify: [pager]}}
jobs:{fail_job("burst", schedule="@every 1s")}""")
        team = rcv.wait_for(count=3, path_prefix="/team", timeout=30, what="firing and two repeats")
        texts = [r.json["text"] for r in team]
        self.assertTrue(texts[0].startswith("🚨 [test] FIRING critical · job burst failed"), texts[0])
        for t in texts[1:3]:
            self.assertTrue(t.startswith("🚨 [test] STILL FIRING critical · job burst failed"), t)
            self.assertRegex(t, r"\(×\d+\)$")
            self.assertGreater(int(re.search(r"×(\d+)\)$", t).group(1)), 1)
        occ = lambda r: int({f["title"]: f["value"] for f in r.json["attachments"][0]["fields"]}["Occurrences"])
        self.assertEqual(occ(team[0]), 1)
        self.assertGreater(occ(team[1]), 1)
        self.assertGreater(occ(team[2]), occ(team[1]))
        gap = team[1].at - team[0].at
        self.assertGreaterEqual(gap, 1.2)  # 2 s, less the firing's own delivery time
        self.assertLess(gap, 6)
        pager = rcv.wait_for(path_prefix="/pager", timeout=30, what="the escalation")
        self.assertTrue(pager[0].json["text"].startswith("🚨 [test] ESCALATED critical · job burst failed"),
                        pager[0].json["text"])
        self.assertGreaterEqual(pager[0].at - team[0].at, 2.2)  # 3 s after it began
        # A repeat after the escalation goes to the team only: the pager is told once.
        rcv.wait_for(lambda r: r.at > pager[0].at + 0.2, path_prefix="/team", timeout=30,
                     what="a repeat after the escalation")
        d.tend("pause", "burst")
        lanes = self.settle(d)
        self.assertEqual(lanes["pager"]["sent"], 1, rcv.requests("/pager"))
        self.assertEqual(len(rcv.requests("/pager")), 1)
        (firing,) = d.status()["alerts"]["firing"]
        self.assertTrue(firing["escalated"])
        actions = [r["action"] for r in self.alert_log(d, "burst") if r["action"] != "grouped"]
        self.assertEqual(actions.count("escalation"), 1)
        self.assertGreaterEqual(actions.count("repeat"), 2)

    # ---- the outbox ----

    def test_pending_delivery_survives_kill9(self):
        rcv = self.receiver()
        rcv.close()  # connect refused
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("flaky")}""")
        self.run_job(d, "flaky", 1)
        wait_for(lambda: (lambda l: l["pending"] >= 1 and l["retries"] >= 1)(self.lane(d, "hook")),
                 what="a failed attempt with the notification still pending")
        lane = self.lane(d, "hook")
        self.assertEqual(lane["last_error"], "connect refused")
        self.assertRegex(lane["next_attempt"] or "", ISO)
        d.kill9()
        db = sqlite3.connect(os.path.join(d.state_dir, "tend.db"))
        rows = db.execute("select state, attempts, notifier from outbox").fetchall()
        db.close()
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual((rows[0][0], rows[0][2]), ("pending", "hook"))
        self.assertGreaterEqual(rows[0][1], 1)
        self.assertEqual(rcv.requests(), [])

        rcv.start()  # the same port
        d.start()
        fire = rcv.wait_for(lambda r: r.json["name"] == "flaky", timeout=30, what="the pending notification")
        self.assertEqual((fire[0].json["event"], fire[0].json["status"]), ("failure", "firing"))
        # The restart itself is an alert (unclean start), on the same route.
        (unclean,) = rcv.wait_for(lambda r: r.json["event"] == "unclean_start", timeout=30, what="the unclean start")
        self.assertEqual((unclean.json["kind"], unclean.json["name"], unclean.json["severity"]),
                         ("daemon", "tendd", "warning"))
        self.settle(d, hook=2)
        ids = collections.Counter(r.json["id"] for r in rcv.requests())
        self.assertEqual(sorted(ids.values()), [1, 1], ids)
        self.assertEqual([r.json["name"] for r in rcv.requests()][0], "flaky")  # restored rows go first
        db = sqlite3.connect(os.path.join(d.state_dir, "tend.db"))
        self.assertEqual(db.execute("select count(*) from outbox where state='pending'").fetchone()[0], 0)
        db.close()

    def test_delivery_cut_by_kill9_is_sent_again_with_the_same_id(self):
        rcv = self.receiver(mode="hang")  # takes the request, never answers
        d = self.daemon(f"""
notifiers:
  hook: {{type: webhook, url: "{rcv.url}/hook", timeout: 30s}}
alerts:
  routes:
    - match: {{kind: daemon}}
      notify: []
    - notify: [hook]
jobs:{fail_job("flaky")}""")
        self.run_job(d, "flaky", 1)
        (cut,) = rcv.wait_for(what="the delivery that will be cut")
        d.kill9()
        rcv.set_mode("ok")
        d.start()
        again = rcv.wait_for(count=2, timeout=30, what="the delivery again after the restart")[1]
        self.assertEqual(again.json, cut.json)  # at least once, and the receiver can drop the duplicate by id
        self.settle(d, hook=1)
        self.assertEqual(len(rcv.requests()), 2)

    def test_order_is_kept_per_notifier_while_retrying(self):
        rcv = self.receiver(mode="error")
        ok = os.path.join(self.dir, "ok")
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("flaky", ok)}""")
        self.run_job(d, "flaky", 1)
        rcv.wait_for(what="the first failed attempt")
        open(ok, "w").close()
        self.run_job(d, "flaky", 0)  # the resolve queues behind the firing
        self.assertEqual(self.lane(d, "hook")["pending"], 2)
        rcv.set_mode("ok")
        self.settle(d, hook=2)
        # One at a time, in order: every attempt of the firing, then the resolve, once.
        seq = [r.json["status"] for r in rcv.requests()]
        self.assertEqual(seq, ["firing"] * (len(seq) - 1) + ["resolved"])
        self.assertGreaterEqual(len(seq), 3)
        self.assertEqual(len({r.json["id"] for r in rcv.requests()}), 2)

    def test_reload_sends_pending_notifications_to_the_new_address(self):
        old, new = self.receiver(), self.receiver()
        old.close()
        cfg = """
notifiers:
  hook: {{type: webhook, url: "{url}/hook"}}
alerts:
  routes:
    - notify: [hook]
jobs:""" + fail_job("flaky")
        d = self.daemon(cfg.format(url=old.url))
        self.run_job(d, "flaky", 1)
        wait_for(lambda: self.lane(d, "hook")["retries"] >= 1, what="a failed attempt")
        d.write_config(cfg.format(url=new.url))
        r = d.tend("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        (got,) = new.wait_for(timeout=30, what="the pending notification at the new address")
        self.assertEqual((got.json["name"], got.json["status"]), ("flaky", "firing"))
        lane = self.settle(d, hook=1)["hook"]
        self.assertEqual(lane["target"], new.url)
        self.assertEqual(old.requests(), [])

    def test_stop_lets_a_delivery_on_the_wire_land_but_not_for_long(self):
        rcv = self.receiver(mode="slow", delay=1.5)
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("flaky")}{fail_job("other")}""")
        self.run_job(d, "flaky", 1)
        rcv.wait_for(what="the delivery")
        stop_at = time.monotonic()
        self.assertEqual(d.stop(), 0)
        took = time.monotonic() - stop_at
        self.assertGreater(took, 0.8)  # it waited for the answer
        log = d.log_text()
        self.assertLess(log.index("event=SENT"), log.index("event=STOPPED"))
        rcv.set_mode("hang")
        d.start()
        self.settle(d)
        self.assertEqual(len(rcv.requests()), 1)  # delivered, so not again

        # A receiver that never answers holds the stop for a few seconds at most; the notification
        # stays in the outbox and goes out, with its id, after the next start.
        self.run_job(d, "other", 1)
        (cut,) = rcv.wait_for(lambda r: r.json["name"] == "other", what="the delivery that hangs")
        stop_at = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - stop_at, 10)
        rcv.set_mode("ok")
        d.start()
        again = rcv.wait_for(lambda r: r.json["name"] == "other", count=2, timeout=30, what="the redelivery")[1]
        self.assertEqual(again.json, cut.json)
        self.settle(d, hook=1)
        self.assertEqual(len(rcv.requests()), 3)

    def test_429_retry_after_is_honoured(self):
        rcv = self.receiver(retry_after=2)
        rcv.script(["ratelimit"])
        d = self.daemon(f"""
notifiers:
  team: {{type: slack, url: "{rcv.url}/slack"}}
alerts:
  routes:
    - notify: [team]
jobs:{fail_job("flaky")}""")
        self.run_job(d, "flaky", 1)
        first, second = rcv.wait_for(count=2, timeout=30, what="the 429 and the retry")
        self.assertGreaterEqual(second.at - first.at, 1.8)  # not the 1 s default backoff
        self.assertLess(second.at - first.at, 10)
        self.assertEqual(first.json, second.json)  # the same notification, footer id and all
        lane = self.settle(d, team=1)["team"]
        self.assertEqual((lane["retries"], lane["given_up"]), (1, 0))
        self.assertEqual(len(rcv.requests()), 2)
        self.assertRegex(d.log_text(), r"notifier=team .* event=RETRY attempts=1 error=\"?HTTP 429.*next_in=2s")

    def test_give_up_after_max_age_raises_delivery_failed_elsewhere(self):
        good = self.receiver()
        bad = self.receiver(mode="error")
        d = self.daemon(f"""
notifiers:
  good: {{type: webhook, url: "{good.url}/good"}}
  bad:  {{type: webhook, url: "{bad.url}/bad"}}
alerts:
  routes:
    - match: {{kind: daemon}}
      notify: [good, bad]
    - notify: [bad]
  delivery: {{max_age: 3s}}
jobs:{fail_job("flaky")}""")
        self.run_job(d, "flaky", 1)
        (df,) = good.wait_for(timeout=30, what="delivery_failed on the other notifier")
        lost = bad.requests()
        self.assertGreaterEqual(len(lost), 2)  # retried before giving up
        self.assertEqual({r.json["id"] for r in lost}, {lost[0].json["id"]})
        self.assertEqual({r.json["event"] for r in lost}, {"failure"})  # never told of its own failure
        p = df.json
        self.assertEqual((p["kind"], p["name"], p["event"], p["severity"], p["status"]),
                         ("daemon", "tendd", "delivery_failed", "critical", "firing"))
        self.assertEqual(p["labels"], {"notifier": "bad", "notification_id": lost[0].json["id"]})
        self.assertIn("notification to bad was given up: job flaky failure", p["summary"])
        self.assertIn("HTTP 500", p["detail"])
        lanes = self.settle(d, good=1)
        self.assertEqual((lanes["bad"]["sent"], lanes["bad"]["given_up"]), (0, 1))
        self.assertIn("HTTP 500", lanes["bad"]["last_error"])
        self.assertIn("delivery.max_age 3s", lanes["bad"]["last_error"])
        st = d.status()
        self.assertEqual(st["alerts"]["given_up"], 1)
        self.assertEqual(st["daemon"]["notifications_given_up"], 1)
        self.assertRegex(d.log_text(), r"notifier=bad .* event=GAVE_UP attempts=\d+ alert=job/flaky/failure")
        self.assertEqual(len(bad.requests()), len(lost))
        rows = [r for r in self.alert_log(d, "tendd") if r["event"] == "delivery_failed"]
        self.assertEqual([(r["action"], r["notifiers"]) for r in rows], [("firing", "good")])

    def test_rejected_request_is_given_up_at_once(self):
        rcv = self.receiver(mode="reject")
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("flaky")}""")
        self.run_job(d, "flaky", 1)
        wait_for(lambda: self.lane(d, "hook")["given_up"] == 1, timeout=20, what="the give-up")
        lane = self.lane(d, "hook")
        # Given up, nothing pending: no retry can follow.
        self.assertEqual((lane["pending"], lane["retries"], lane["sent"]), (0, 0, 0))
        self.assertIn("HTTP 400", lane["last_error"])
        self.assertIn("not retried", lane["last_error"])
        self.assertEqual(len(rcv.requests()), 1)
        self.assertRegex(d.log_text(), r"notifier=hook .* event=GAVE_UP attempts=1 alert=job/flaky/failure")

    # ---- silences ----

    def test_silence_mutes_then_unsilence_notifies_at_once(self):
        rcv = self.receiver()
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("flaky")}{fail_job("other")}""")
        r = d.tend("silence", "flaky", "--for", "1h", "--reason", "deploy")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^silenced flaky until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$")
        self.run_job(d, "flaky", 1)
        self.run_job(d, "flaky", 1)
        self.settle(d)
        self.assertEqual(rcv.requests(), [])
        # Recorded though muted (the second failure is counted, within the minute not logged again).
        self.assertEqual([r["action"] for r in self.alert_log(d, "flaky")], ["silenced"])
        text = d.tend("alerts", "flaky")
        self.assertIn("silenced", text.stdout)
        e = d.entry("flaky")
        self.assertRegex(e["silenced_until"] or "", ISO)
        self.assertEqual(e["silenced_until"], r.stdout.split()[-1])
        self.assertIsNone(d.entry("other").get("silenced_until"))
        table = d.tend("status").stdout
        self.assertRegex(table, r"(?m)^job +flaky +idle \(silenced\)")
        self.assertRegex(table, r"(?m)^job +other +idle +")
        self.assertNotRegex(table, r"(?m)^job +other .*silenced")
        (s,) = d.status()["alerts"]["silences"]
        self.assertEqual((s["target"], s["reason"], s["until"]), ("flaky", "deploy", e["silenced_until"]))
        (firing,) = d.status()["alerts"]["firing"]
        self.assertEqual((firing["name"], firing["silenced"], firing["occurrences"]), ("flaky", True, 2))

        self.assertEqual(d.tend("silence", "nosuch", "--for", "1h").returncode, 1)
        self.assertEqual(d.tend("silence", "flaky").returncode, 2)  # --for is required
        r = d.tend("unsilence", "flaky")
        self.assertEqual(r.returncode, 0, r.stderr)
        (n,) = rcv.wait_for(timeout=20, what="the still-firing alert after unsilence")
        self.assertEqual((n.json["name"], n.json["status"], n.json["occurrences"]), ("flaky", "firing", 2))
        self.assertIsNone(d.entry("flaky").get("silenced_until"))
        self.assertEqual(d.status()["alerts"]["silences"], [])
        self.assertEqual(d.tend("unsilence", "flaky").returncode, 1)  # not silenced any more

        # A silence ends by itself: what began under it and still fires is told then.
        self.assertEqual(d.tend("silence", "other", "--for", "10").returncode, 2)  # a bare number
        silenced_at = time.monotonic()
        self.assertEqual(d.tend("silence", "other", "--for", "2s").returncode, 0)
        self.run_job(d, "other", 1)
        self.assertEqual(self.alert_log(d, "other")[0]["action"], "silenced")
        (n,) = rcv.wait_for(lambda r: r.json["name"] == "other", timeout=20, what="other's alert after expiry")
        self.assertGreaterEqual(n.at - silenced_at, 1.5)
        self.assertRegex(d.log_text(), r"silence target=other event=EXPIRED")
        self.assertEqual(d.status()["alerts"]["silences"], [])

    def test_silence_all_and_silences_survive_a_restart(self):
        rcv = self.receiver()
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("one")}{fail_job("two")}""")
        r = d.tend("silence", "--all", "--for", "1h", "--reason", "maintenance")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("silenced --all until "), r.stdout)
        self.run_job(d, "one", 1)
        self.settle(d)
        self.assertEqual(rcv.requests(), [])
        self.assertTrue(all(e.get("silenced_until") for e in d.status()["entries"]))
        self.assertEqual(self.alert_log(d, "one")[0]["action"], "silenced")
        r = d.tend("unsilence", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "removed 1 silence(s)\n")
        (n,) = rcv.wait_for(timeout=20, what="one's alert after unsilence --all")
        self.assertEqual(n.json["name"], "one")

        # A silence is persisted: a clean stop and start keep it, and it keeps muting.
        r = d.tend("silence", "two", "--for", "1h", "--reason", "deploy")
        self.assertEqual(r.returncode, 0, r.stderr)
        until = d.entry("two")["silenced_until"]
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertEqual(d.entry("two")["silenced_until"], until)
        (s,) = d.status()["alerts"]["silences"]
        self.assertEqual((s["target"], s["reason"], s["until"]), ("two", "deploy", until))
        self.run_job(d, "two", 1)
        self.settle(d)
        self.assertEqual(len(rcv.requests()), 1)
        self.assertEqual(self.alert_log(d, "two")[0]["action"], "silenced")
        self.assertEqual(d.tend("unsilence", "two").returncode, 0)
        rcv.wait_for(lambda r: r.json["name"] == "two", timeout=20, what="two's alert after unsilence")

    # ---- test-alert ----

    def test_test_alert(self):
        rcv = self.receiver()
        down = self.receiver()
        down.close()
        slow = self.receiver(mode="hang")
        d = self.daemon(f"""
notifiers:
  hook: {{type: webhook, url: "{rcv.url}/hook/SECRETPATH1"}}
  team: {{type: slack,   url: "{rcv.url}/slack/SECRETPATH2"}}
  down: {{type: webhook, url: "{down.url}/hook/SECRETDOWN"}}
  slow: {{type: webhook, url: "{slow.url}/hook/SECRETSLOW", timeout: 1s}}
alerts:
  routes:
    - notify: [hook]
""")
        r = d.tend("test-alert", "hook")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rf"^delivered to hook \(http://127\.0\.0\.1:{rcv.port}\): HTTP 200 in \d+ ms\n$")
        (got,) = rcv.requests()
        p = got.json
        self.assertEqual(set(p), PAYLOAD_KEYS)
        self.assertEqual((p["kind"], p["name"], p["event"], p["severity"], p["status"], p["host"]),
                         ("daemon", "tendd", "test", "info", "firing", "test-host"))
        self.assertTrue(p["summary"].startswith("test notification from tend on test-host"), p["summary"])
        r = d.tend("test-alert", "team")
        self.assertEqual(r.returncode, 0, r.stderr)
        slack = rcv.wait_for(path_prefix="/slack/", what="the slack test")[0].json
        self.assertTrue(slack["text"].startswith("ℹ️ [test] TEST info · test notification"), slack["text"])

        r = d.tend("test-alert", "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no notifier named 'nosuch'", r.stderr)
        r = d.tend("test-alert", "down")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"127.0.0.1:{down.port}", r.stderr)
        self.assertIn("connect refused", r.stderr)
        self.assertNotIn("SECRETDOWN", r.stderr + r.stdout)
        started = time.monotonic()
        r = d.tend("test-alert", "slow")
        self.assertEqual(r.returncode, 1)
        self.assertLess(time.monotonic() - started, 15)
        self.assertIn("timeout after 1s", r.stderr)
        self.assertNotIn("SECRETSLOW", r.stderr)
        self.assertEqual(d.tend("test-alert").returncode, 2)
        # Test messages bypass the outbox and its counters.
        self.assertTrue(all(n["pending"] == 0 and n["sent"] == 0 for n in d.status()["alerts"]["notifiers"]))

    # ---- secrets ----

    def test_secrets_never_leave_the_config(self):
        secrets = ["SECRETPATH123", "SECRETQUERY456", "SECRETHEADER789", "SECRETUSERINFO"]
        rcv = self.receiver(mode="error", echo=True)
        ok = os.path.join(self.dir, "ok")
        d = self.daemon(f"""
notifiers:
  sec:
    type: webhook
    url: "http://tend:SECRETUSERINFO@127.0.0.1:{rcv.port}/hook/SECRETPATH123?token=SECRETQUERY456"
    headers:
      Authorization: "Bearer SECRETHEADER789"
alerts:
  routes:
    - notify: [sec]
jobs:{fail_job("flaky", ok)}""")
        outputs = []

        def tend(*args, rc=None):
            r = d.tend(*args)
            if rc is not None:
                self.assertEqual(r.returncode, rc, r.stderr)
            outputs.append(" ".join(args) + "\n" + r.stdout + r.stderr)
            return r

        self.run_job(d, "flaky", 1)
        wait_for(lambda: self.lane(d, "sec")["retries"] >= 1, timeout=20, what="a failed delivery")
        first = rcv.requests()[0]
        self.assertEqual(first.path, "/hook/SECRETPATH123?token=SECRETQUERY456")  # the secrets were used
        self.assertEqual(first.headers["authorization"], "Bearer SECRETHEADER789")  # (it wins over userinfo)
        r = tend("test-alert", "sec", rc=1)
        self.assertIn("HTTP 500", r.stderr)
        self.assertIn(f"http://127.0.0.1:{rcv.port}", r.stderr)
        tend("status")
        tend("status", "--json")

        rcv.set_mode("ok")
        wait_for(lambda: self.lane(d, "sec")["sent"] == 1, timeout=30, what="delivery after the errors")
        tend("test-alert", "sec", rc=0)

        rcv.set_mode("reject")  # the resolve is rejected, with the secrets echoed back
        open(ok, "w").close()
        self.run_job(d, "flaky", 0)
        wait_for(lambda: self.lane(d, "sec")["given_up"] == 1, timeout=20, what="the rejected resolve")
        rcv.close()
        r = tend("test-alert", "sec", rc=1)
        self.assertIn("connect refused", r.stderr)
        for args in (("status",), ("status", "--json"), ("alerts",), ("alerts", "--json"), ("history", "flaky"),
                     ("history", "tendd", "--json"), ("output", "flaky")):
            tend(*args)
        lane = self.lane(d, "sec")
        self.assertEqual(lane["target"], f"http://127.0.0.1:{rcv.port}")
        self.assertIn("HTTP 400", lane["last_error"])
        self.assertIn("cannot take POST /***", lane["last_error"])  # the echo, scrubbed
        self.assertEqual(d.stop(), 0)

        places = {"tendd log": d.log_text(), "cli": "\n".join(outputs)}
        db = sqlite3.connect(os.path.join(d.state_dir, "tend.db"))
        for (table,) in db.execute("select name from sqlite_master where type='table'").fetchall():
            places[f"table {table}"] = "\n".join(repr(row) for row in db.execute(f'select * from "{table}"'))
        db.close()
        self.assertIn("event=GAVE_UP", places["tendd log"])
        self.assertIn("event=RETRY", places["tendd log"])
        self.assertIn("resolved", places["table alert_log"])
        for where, text in places.items():
            for s in secrets:
                self.assertNotIn(s, text, f"{s} leaked into the {where}")

    # ---- heartbeat ----

    def test_heartbeat_pings_and_stops_with_the_daemon(self):
        rcv = self.receiver()
        d = self.daemon("", start=False)
        d.write_config(f"""daemon:
  state_dir: {d.state_dir}
  socket: {d.socket}
  environment: test
  host: test-host
  timezone: UTC
  log: {{level: debug}}
  heartbeat: {{url: "{rcv.url}/hb/0f6c3c2e-uuid", interval: 1s}}
jobs:
  stubborn:
    schedule: "@reboot"
    command: [{CHILD}, ignore-sigterm, sleep, "60000"]
    kill_grace: 3s
""")
        rcv.script(["error", "error"])  # the service has a bad moment: logged once, then "OK again"
        d.start()
        pings = rcv.wait_for(count=5, timeout=30, what="five heartbeats")
        self.assertEqual({(p.method, p.path) for p in pings}, {("GET", "/hb/0f6c3c2e-uuid")})
        mean = (pings[4].at - pings[0].at) / 4
        self.assertGreater(mean, 0.6)
        self.assertLess(mean, 2.0)
        # The receiver logs a ping when it arrives; the daemon counts it when the answer is read.
        wait_for(lambda: d.status()["heartbeat"]["sent"] >= 3, what="three answered heartbeats")
        hb = d.status()["heartbeat"]
        self.assertEqual((hb["enabled"], hb["target"], hb["interval"], hb["failed"]), (True, rcv.url, "1s", 2))
        self.assertIsNone(hb["last_error"])
        log = d.log_text()
        self.assertEqual(log.count(f"heartbeat target={rcv.url} event=FAILED"), 1, log)
        self.assertIn(f"heartbeat target={rcv.url} event=OK again", log)
        self.assertRegex(hb["last_ok"] or "", ISO)
        self.assertNotIn("0f6c3c2e", d.tend("status", "--json").stdout)
        wait_for(lambda: d.entry("stubborn")["state"] == "running", what="the stubborn job")

        sigterm_at = time.monotonic()
        d.signal(signal.SIGTERM)  # the stop waits out the job's 3 s kill_grace
        d.proc.wait(30)
        self.assertEqual(d.proc.returncode, 0)
        self.assertGreater(time.monotonic() - sigterm_at, 2.5)
        late = [p for p in rcv.requests() if p.at > sigterm_at + 0.5]
        self.assertEqual(late, [], "heartbeats while the daemon was stopping")
        self.assertNotIn("0f6c3c2e", d.log_text())

    # ---- digest ----

    def test_digest_job_reports_failures(self):
        rcv = self.receiver()
        d = self.daemon(f"""
{hook_route(rcv)}
jobs:{fail_job("bad")}
  good:
    schedule: "@daily"
    command: [{CHILD}, exit, "0"]
  report:
    schedule: "@daily"
    builtin: digest
probes:
  web:
    url: "{rcv.url}/health"
    interval: 1s
""")
        wait_for(lambda: d.history("web"), what="a probe result")
        self.run_job(d, "bad", 1)
        self.run_job(d, "bad", 1)
        self.run_job(d, "good", 0)
        r = self.run_job(d, "report", 0)
        summary = "daily digest for test-host: 1 of 3 entries had failures in the last 24h"
        self.assertIn(summary, r.stdout)
        (dg,) = rcv.wait_for(lambda q: q.json and q.json["event"] == "digest", timeout=20, what="the digest")
        p = dg.json
        self.assertEqual((p["kind"], p["name"], p["severity"], p["status"], p["summary"]),
                         ("job", "report", "info", "firing", summary))
        self.assertRegex(p["detail"], r"(?m)^✗ job bad: 2 run\(s\), 2 failed, avg .*, last success never$")
        self.assertRegex(p["detail"], r"(?m)^✓ job good: 1 run\(s\), 0 failed, avg .*, last success \d{4}-")
        self.assertRegex(p["detail"], r"(?m)^✓ probe web: uptime 100\.00% \(0 down of \d+ results\)$")
        self.assertNotIn("report:", p["detail"])
        out = d.tend("output", "report")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(summary, out.stdout)
        self.assertIn("✗ job bad: 2 run(s), 2 failed", out.stdout)
        self.assertEqual(d.history("report")[0]["outcome"], "success")
        self.settle(d, hook=2)  # bad's failure and the digest
        self.assertEqual(len(rcv.requests("/hook")), 2)


if __name__ == "__main__":
    unittest.main()
