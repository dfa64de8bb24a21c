"""The man pages generated at build time (build/man: tend.1 and tendd.8 from the command tables,
tend.yaml.5 from docs/configuration.md) render without a single warning, the way lintian checks
them, and cover every command and every documented section."""

import os
import re
import subprocess
import unittest

from harness import SOURCE_DIR, TEND

MAN_DIR = os.environ.get("TEND_MAN_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(TEND)))), "man")
PAGES = ["tend.1", "tendd.8", "tend.yaml.5"]
ENV = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")


def render(page):
    path = os.path.join(MAN_DIR, page)
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", path], capture_output=True, text=True,
                       env=ENV, timeout=60)
    # Piped, man overstrikes bold and underlined text (c BS c, _ BS c): read it as plain text.
    r.stdout = re.sub(r".\x08", "", r.stdout)
    return r


class ManTest(unittest.TestCase):
    def test_pages_render_without_warnings(self):
        for page in PAGES:
            path = os.path.join(MAN_DIR, page)
            self.assertTrue(os.path.exists(path), path)
            with open(path, "rb") as f:
                data = f.read()
            self.assertTrue(all(b < 0x80 for b in data), f"{page}: non-ASCII byte")
            g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path], capture_output=True, text=True,
                               env=ENV, timeout=60)
            self.assertEqual((g.returncode, g.stderr), (0, ""), page)
            r = render(page)
            self.assertEqual((r.returncode, r.stderr), (0, ""), page)
            self.assertRegex(r.stdout, r"(?m)^NAME\n")
            # No stray markup: a backtick or ** means a markdown or spec construct leaked through.
            self.assertNotIn("`", r.stdout, page)
            self.assertNotIn("**", r.stdout, page)

    def test_tend_1_has_every_command_with_its_examples(self):
        help_text = subprocess.run([TEND, "help"], capture_output=True, text=True).stdout
        commands = re.findall(r"(?m)^  ([a-z][a-z-]+)  ", help_text)
        self.assertGreaterEqual(len(commands), 18)
        text = render("tend.1").stdout
        for cmd in commands:
            self.assertRegex(text, rf"(?m)^   tend {re.escape(cmd)}$", cmd)
            example = subprocess.run([TEND, cmd, "--help"], capture_output=True, text=True).stdout
            first = re.search(r"(?m)^  (tend .*)$", example.split("examples:")[1]).group(1)
            self.assertIn(first, text.replace("\u2010", "-").replace("\u2212", "-"), cmd)
        for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES",
                        "SEE ALSO"):
            self.assertRegex(text, rf"(?m)^{section}$")

    def test_tendd_8(self):
        text = render("tendd.8").stdout
        for part in ("--config FILE", "--check [FILE]", "--version", "SIGNALS", "SIGHUP", "/etc/tend/tend.yaml",
                     "tend.yaml(5)"):
            self.assertIn(part, text.replace("\u2010", "-").replace("\u2212", "-"))

    def test_tend_yaml_5_is_configuration_md(self):
        text = render("tend.yaml.5").stdout
        with open(os.path.join(SOURCE_DIR, "docs", "configuration.md")) as f:
            md = f.read()
        for heading in re.findall(r"(?m)^## (.*)$", md):
            self.assertRegex(text, rf"(?m)^{re.escape(heading.replace('`', '').upper())}$", heading)
        for key in re.findall(r"(?m)^\| `([a-z_]+)` \|", md):
            self.assertRegex(text, rf"(?m)^       {key}\b", key)


if __name__ == "__main__":
    unittest.main()
