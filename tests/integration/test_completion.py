"""The generated bash completion (build/completion/tend), driven the way bash drives it: COMP_WORDS
and COMP_CWORD set, `_tend` called, COMPREPLY read. Names come from a real tendd; without one the
completion stays quiet."""

import os
import subprocess
import unittest

from harness import CHILD, TEND, TendTestCase

COMPLETION = os.environ.get("TEND_COMPLETION") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(TEND)))), "completion", "tend")


def complete(*words, env=None):
    """COMPREPLY for the command line `words` (the last one is being completed), sorted."""
    script = (f'source "{COMPLETION}"\n'
              'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n'
              'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}\n'
              '_tend\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", TEND, *words], capture_output=True,
                       text=True, timeout=30, env=dict(os.environ, **(env or {})))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    return sorted(w for w in r.stdout.split("\n") if w)


class CompletionTest(TendTestCase):
    def test_registered_and_valid_bash(self):
        self.assertTrue(os.path.exists(COMPLETION), COMPLETION)
        r = subprocess.run(["bash", "-n", COMPLETION], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["bash", "--norc", "-c", f'source "{COMPLETION}"; complete -p tend'], capture_output=True,
                           text=True)
        self.assertEqual(r.stdout.strip(), "complete -F _tend tend")

    def test_commands_and_flags_without_a_daemon(self):
        env = {"TEND_SOCKET": os.path.join(self.dir, "nothing.sock")}
        everything = complete("", env=env)
        for cmd in ("status", "history", "import-crontab", "test-alert", "next", "metrics", "cluster", "help"):
            self.assertIn(cmd, everything)
        self.assertEqual(complete("hi", env=env), ["history"])
        self.assertEqual(complete("s", env=env), ["silence", "status"])
        self.assertEqual(complete("history", "-", env=env), ["--help", "--json", "-n"])
        self.assertEqual(complete("status", "--", env=env), ["--help", "--json", "--watch"])
        self.assertEqual(complete("silence", "x", "--", env=env), ["--all", "--for", "--help", "--reason"])
        self.assertEqual(complete("--", env=env), ["--help", "--socket", "--version"])
        self.assertEqual(complete("help", "imp", env=env), ["import-crontab"])
        self.assertEqual(complete("next", "* * * * *", "--tz", "Europe/Berl", env=env), ["Europe/Berlin"])
        # No daemon: names are simply not offered, and nothing is printed.
        self.assertEqual(complete("history", "", env=env), [])
        self.assertEqual(complete("history", "-n", "", env=env), [])  # a value: nothing to offer

    def test_names_from_a_real_daemon(self):
        d = self.daemon(f"""
notifiers:
  team-slack: {{type: webhook, url: "http://127.0.0.1:9/hook"}}
alerts:
  routes: [{{notify: [team-slack]}}]
jobs:
  backup:
    schedule: "0 3 * * *"
    command: [{CHILD}, exit, "0"]
  billing:
    schedule: "0 4 * * *"
    command: [{CHILD}, exit, "0"]
checks:
  heartbeat: {{every: 1h}}
""")
        env = {"TEND_SOCKET": d.socket}
        self.assertEqual(complete("history", "", env=env), ["backup", "billing", "heartbeat"])
        self.assertEqual(complete("history", "ba", env=env), ["backup"])
        self.assertEqual(complete("run", "", env=env), ["backup", "billing"])  # jobs only
        self.assertEqual(complete("ping", "", env=env), ["heartbeat"])  # checks only
        self.assertEqual(complete("ping", "heartbeat", "", env=env), ["fail", "start", "success"])
        self.assertEqual(complete("test-alert", "", env=env), ["team-slack"])
        self.assertEqual(complete("pause", "--for", "10m", "b", env=env), ["backup", "billing"])
        # --socket on the command line is the socket asked, whatever TEND_SOCKET says.
        other = {"TEND_SOCKET": os.path.join(self.dir, "nothing.sock")}
        self.assertEqual(complete("--socket", d.socket, "run", "", env=other), ["backup", "billing"])
        self.assertEqual(complete("run", "", env=other), [])


if __name__ == "__main__":
    unittest.main()
