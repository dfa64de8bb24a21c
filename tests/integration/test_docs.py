"""The docs and the CLI agree: every `tend COMMAND` written in README.md and docs/*.md exists, and
every command of the CLI is documented in docs/operations.md or the README."""

import glob
import os
import re
import subprocess
import unittest

from harness import SOURCE_DIR, TEND

# `tend COMMAND` in code (spans and fenced blocks), with an optional --socket before the command;
# `build/daemon/cli/tend ...` counts too.
MENTION = re.compile(r"(?:^|[\s`/(|;&])tend(?:\s+--socket(?:=|\s+)\S+)?\s+([a-z][a-z-]*)")


def cli_commands():
    r = subprocess.run([TEND, "help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"(?m)^  ([a-z][a-z-]+)  ", r.stdout))


def code_of(markdown):
    """The code in a markdown text: fenced blocks and inline spans, one string per piece."""
    pieces = []
    fence = False
    block = []
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            if fence:
                pieces.append("\n".join(block))
                block = []
            fence = not fence
            continue
        if fence:
            block.append(line)
        else:
            pieces.extend(re.findall(r"`([^`]+)`", line))
    return pieces


def mentions(path):
    with open(path) as f:
        text = f.read()
    found = set()
    for piece in code_of(text):
        for line in piece.splitlines():
            line = line.split(" #")[0] if not line.lstrip().startswith("#") else line
            found.update(m.group(1) for m in MENTION.finditer(line))
    return found


class DocsTest(unittest.TestCase):
    def docs(self):
        files = [os.path.join(SOURCE_DIR, "README.md")] + sorted(glob.glob(os.path.join(SOURCE_DIR, "docs", "*.md")))
        self.assertGreaterEqual(len(files), 5)
        return files

    def test_every_documented_command_exists(self):
        commands = cli_commands()
        unknown = []
        for path in self.docs():
            for cmd in sorted(mentions(path)):
                if cmd not in commands:
                    unknown.append(f"{os.path.relpath(path, SOURCE_DIR)}: tend {cmd}")
        self.assertEqual(unknown, [], f"documented but not in the CLI (commands: {sorted(commands)})")

    def test_every_command_is_documented(self):
        documented = mentions(os.path.join(SOURCE_DIR, "docs", "operations.md")) | mentions(
            os.path.join(SOURCE_DIR, "README.md"))
        missing = sorted(cli_commands() - documented)
        self.assertEqual(missing, [], "commands missing from docs/operations.md and README.md")

    def test_the_scanner_sees_what_it_should(self):
        # The test above is only as good as its scanner: it must see commands where docs write them.
        sample = ("Run `tend status`.\n```sh\nbuild/daemon/cli/tend --socket .tend/tend.sock history flaky\n"
                  "*/5 * * * * tend exec nightly -- /x\n```\nThe daemon is called tend and is good.\n"
                  "`systemctl reload tend` and `/etc/tend/tend.yaml`\n")
        found = set()
        for piece in code_of(sample):
            found.update(m.group(1) for m in MENTION.finditer(piece))
        self.assertEqual(found, {"status", "history", "exec"})


if __name__ == "__main__":
    unittest.main()
