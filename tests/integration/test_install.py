"""`cmake --install` (cmake/install.cmake) into a DESTDIR under a temp dir: the tree it lays out for
the build's prefix, the unit rewritten for that prefix, a config that passes `tendd --check`, and an
edited config that a second install leaves alone. The /usr layout is the package's, checked in
test_package.py."""

import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import SOURCE_DIR, TENDD

BINARY_DIR = os.environ.get("TEND_BINARY_DIR", os.path.join(SOURCE_DIR, "build"))


def cache_value(name):
    with open(os.path.join(BINARY_DIR, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split("=", 1)[1].strip()
    raise AssertionError(f"{name} not in CMakeCache.txt")


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.destdir = tempfile.mkdtemp(prefix="tend-destdir-")
        self.addCleanup(shutil.rmtree, self.destdir, ignore_errors=True)
        self.prefix = cache_value("CMAKE_INSTALL_PREFIX")

    def install(self):
        r = subprocess.run(["cmake", "--install", BINARY_DIR], env=dict(os.environ, DESTDIR=self.destdir),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def at(self, path):
        return os.path.join(self.destdir, path.lstrip("/"))

    def test_the_tree_under_the_prefix(self):
        self.install()
        p = self.prefix
        etc = "/etc" if p == "/usr" else f"{p}/etc"
        for exe in (f"{p}/bin/tendd", f"{p}/bin/tend"):
            self.assertTrue(os.access(self.at(exe), os.X_OK), exe)
        r = subprocess.run([self.at(f"{p}/bin/tendd"), "--version"], capture_output=True, text=True)
        self.assertTrue(r.stdout.startswith("tendd "), r.stdout + r.stderr)

        unit = self.at(f"{p}/lib/systemd/system/tend.service") if p != "/usr" else None
        if unit is None:  # the /usr prefix asks systemd.pc (/lib/systemd/system on Debian 12)
            found = [os.path.join(d, f) for d, _, fs in os.walk(self.destdir) for f in fs if f == "tend.service"]
            self.assertEqual(len(found), 1, found)
            unit = found[0]
        with open(unit) as f:
            text = f.read()
        self.assertIn(f"ExecStart={p}/bin/tendd --config {etc}/tend/tend.yaml\n", text)
        self.assertIn(f"ExecStartPre={p}/bin/tendd --check {etc}/tend/tend.yaml\n", text)
        for line in ("Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=tend",
                     "RuntimeDirectory=tend"):
            self.assertIn(line, text)
        with open(os.path.join(SOURCE_DIR, "systemd", "tend.service")) as f:
            source = f.read()
        if p != "/usr":
            self.assertNotIn("/usr/bin/tendd", text)
            self.assertNotIn("/etc/tend/", text.replace(f"{etc}/tend/", ""))
        self.assertEqual(len(text.splitlines()), len(source.splitlines()))  # only paths changed

        conf = self.at(f"{etc}/tend/tend.yaml")
        self.assertEqual(stat.S_IMODE(os.stat(conf).st_mode), 0o640)  # may hold webhook URLs
        r = subprocess.run([TENDD, "--check", conf], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(self.at(f"{etc}/tend/conf.d")))

        with open(self.at(f"{p}/lib/sysusers.d/tend.conf") if p != "/usr" else self.at("/usr/lib/sysusers.d/tend.conf")) as f:
            groups = re.findall(r"^g (\S+) -$", f.read(), re.M)
        self.assertEqual(groups, ["tend", "tend-admin"])

        doc = self.at(f"{p}/share/doc/tend")
        for name in ("README.md", "operations.md", "configuration.md", "examples/nightly-batch.yaml",
                     "examples/README.md", "examples/conf.d/backups.yaml"):
            self.assertTrue(os.path.exists(os.path.join(doc, name)), name)
        # Every installed example still validates where it lies (includes are relative).
        r = subprocess.run([TENDD, "--check", os.path.join(doc, "examples", "with-includes.yaml")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

        self.assertTrue(os.path.exists(self.at(f"{p}/share/bash-completion/completions/tend")))
        for page in ("man1/tend.1", "man5/tend.yaml.5", "man8/tendd.8"):
            self.assertTrue(os.path.exists(self.at(f"{p}/share/man/{page}")), page)

    def test_a_second_install_keeps_an_edited_config(self):
        self.install()
        etc = "/etc" if self.prefix == "/usr" else f"{self.prefix}/etc"
        conf = self.at(f"{etc}/tend/tend.yaml")
        with open(conf, "a") as f:
            f.write("# edited by the administrator\n")
        out = self.install()
        self.assertIn("Keeping: ", out)
        with open(conf) as f:
            self.assertTrue(f.read().endswith("# edited by the administrator\n"))

    def test_the_etc_starting_config_is_valid_and_uses_the_package_paths(self):
        path = os.path.join(SOURCE_DIR, "config", "etc", "tend.yaml")
        r = subprocess.run([TENDD, "--check", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(path) as f:
            text = f.read()
        for line in ("  socket: /run/tend/tend.sock", "  state_dir: /var/lib/tend", "  socket_group: tend",
                     "  admin_group: tend-admin", "include: [conf.d/*.yaml]"):
            self.assertIn(line, text)


if __name__ == "__main__":
    unittest.main()
