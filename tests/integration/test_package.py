"""The Debian package, installed as a user would: `apt install ./tend_*.deb` in a fresh Debian 12
(debootstrap minbase, see debroot.py) under a real systemd booted in a namespace.

One scenario, step by step, each step asserted: the package's contents; install (dependencies
pulled by apt, the groups made, the unit enabled and started, the conffile); `tendd --check` on the
shipped configuration; `man tend` (when the package has man pages); `tend status` as a member of
the group tend (and refused to a user who is not); a job run as another user under the hardened
unit; `systemctl reload` (a conf.d file picked up, same MainPID); `systemctl stop` within its
timeout; an upgrade restarts the daemon; an upgrade with a broken /etc/tend/tend.yaml keeps the
old daemon running; `apt remove` keeps /etc/tend; `apt purge` removes /var/lib/tend.

The .deb is BUILD_DIR/package/tend_VERSION_ARCH.deb (scripts/dev test builds it first, into the
build its tests run in; this test runs `scripts/dev package` itself when it is missing). The upgrades install the same build with the
version raised in its control file (dpkg-deb -R / -b): what apt sees on an upgrade, without a second
compile. apt needs the Debian mirror (the machine's apt configuration reaches it). The package's binaries
are its own Release build, whatever build runs this test.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import debroot
from harness import SOURCE_DIR, wait_for

BINARY_DIR = os.environ.get("TEND_BINARY_DIR", os.path.join(SOURCE_DIR, "build"))
PACKAGE_DIR = os.path.join(BINARY_DIR, "package")
CACHE_DIR = os.path.join(BINARY_DIR, "package-test")

CONF_D_JOBS = """\
jobs:
  as-nobody:
    schedule: "@daily"
    command: [id, -un]
    user: nobody
  to-syslog:
    schedule: "@daily"
    command: [logger, -t, tend-package-test, "hello from a job"]
"""


def changelog_version():
    r = subprocess.run(["dpkg-parsechangelog", "-l", os.path.join(SOURCE_DIR, "debian", "changelog"), "-S",
                        "Version"], capture_output=True, text=True, check=True)
    return r.stdout.strip()


def find_deb():
    version = changelog_version()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    deb = os.path.join(PACKAGE_DIR, f"tend_{version}_{arch}.deb")
    if not os.path.exists(deb):
        print(f"\n  {deb} is missing: scripts/dev package")
        r = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "dev"), "package"], capture_output=True, text=True,
                           timeout=3600, env=dict(os.environ, TEND_PACKAGE_DIR=PACKAGE_DIR))
        if r.returncode != 0:
            raise AssertionError(f"scripts/dev package failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return deb, version


def repack(deb, version, new_version, out_dir):
    """The same package with another version in its control file."""
    tree = os.path.join(out_dir, f"tree-{new_version}")
    subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    assert f"\nVersion: {version}\n" in text, text
    with open(control, "w") as f:
        f.write(text.replace(f"\nVersion: {version}\n", f"\nVersion: {new_version}\n"))
    out = os.path.join(out_dir, f"tend_{new_version}.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", tree, out], check=True, capture_output=True)
    shutil.rmtree(tree)
    return out


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        problem = debroot.problem()
        if problem:
            print(f"\n  skipped: {problem}")
            raise unittest.SkipTest(problem)
        cls.deb, cls.version = find_deb()
        tarball, spent = debroot.rootfs_tarball(CACHE_DIR)
        print(f"\n  root file system: {tarball} " + (f"(debootstrap took {spent:.0f}s)" if spent else "(cached)"))
        cls.work = tempfile.mkdtemp(prefix="tend-package-", dir=CACHE_DIR)
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.box = debroot.BootedRoot(tarball, cls.work)
        cls.addClassCleanup(cls.box.remove)  # after the kill below (cleanups run last in, first out)
        cls.addClassCleanup(cls.box.kill)
        started = time.monotonic()
        cls.box.unpack()
        for name, path in ((os.path.basename(cls.deb), cls.deb),
                           ("tend-up1.deb", repack(cls.deb, cls.version, cls.version + "+up1", cls.work)),
                           ("tend-up2.deb", repack(cls.deb, cls.version, cls.version + "+up2", cls.work))):
            shutil.copyfile(path, cls.box.path(f"/root/{name}"))
        cls.box.boot()
        print(f"  unpacked and booted in {time.monotonic() - started:.1f}s (systemd pid {cls.box.systemd_pid})")

    # ---- helpers ----

    def sh(self, *argv, ok=True, **kw):
        r = self.box.run(*argv, **kw)
        if ok:
            self.assertEqual(r.returncode, 0, f"{' '.join(argv)}: rc={r.returncode}\n{r.stdout[-3000:]}\n"
                                              f"{r.stderr[-3000:]}{self.journal()}")
        return r

    def journal(self):
        r = self.box.run("journalctl", "-u", "tend", "--no-pager", "-n", "40")
        return "\n--- journalctl -u tend ---\n" + r.stdout[-4000:]

    def show(self, prop):
        return self.box.run("systemctl", "show", "-p", prop, "--value", "tend.service").stdout.strip()

    def active(self):
        return self.box.run("systemctl", "is-active", "tend.service").stdout.strip()

    def step(self, text):
        self.t = getattr(self, "t", time.monotonic())
        print(f"  [{time.monotonic() - self.t:5.1f}s] {text}")

    # ---- the scenario ----

    def test_install_run_reload_stop_upgrade_remove_purge(self):
        print()
        self.check_contents()
        self.install()
        self.status_by_group_members()
        self.reload_and_jobs_under_the_unit()
        self.hardening_score()
        self.stop_and_start()
        self.upgrade_restarts()
        self.broken_config_upgrade_keeps_the_old_daemon()
        self.remove_and_purge()

    def check_contents(self):
        self.step("contents")
        listing = subprocess.run(["dpkg-deb", "-c", self.deb], capture_output=True, text=True, check=True).stdout
        paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
        for p in ("/usr/bin/tendd", "/usr/bin/tend", "/lib/systemd/system/tend.service", "/etc/tend/tend.yaml",
                  "/etc/tend/conf.d/", "/usr/lib/sysusers.d/tend.conf", "/usr/share/doc/tend/copyright",
                  "/usr/share/doc/tend/examples/nightly-batch.yaml"):
            self.assertIn(p, paths)
        # dh_compress gzips documents over 4 KiB: README.md is shipped either way.
        self.assertTrue({"/usr/share/doc/tend/README.md", "/usr/share/doc/tend/README.md.gz"} & paths, paths)
        conf = [line for line in listing.splitlines() if line.endswith("./etc/tend/tend.yaml")][0]
        self.assertTrue(conf.startswith("-rw-r----- root/root"), conf)
        fields = subprocess.run(["dpkg-deb", "-f", self.deb, "Depends", "Version"], capture_output=True, text=True,
                                check=True).stdout
        for lib in ("libc6", "libstdc++6", "libyaml-cpp0.7", "libspdlog1.10", "libcurl4", "libsqlite3-0",
                    "libsystemd0", "libboost-json1.81.0", "procps"):
            self.assertIn(lib, fields)
        control = subprocess.run(["dpkg-deb", "-I", self.deb], capture_output=True, text=True, check=True).stdout
        self.assertIn("postinst", control)
        with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
            project_version = re.search(r"project\(tend VERSION (\S+)", f.read()).group(1)
        self.assertEqual(self.version.split("-")[0], project_version, "debian/changelog and CMakeLists.txt disagree")

    def install(self):
        self.step("apt-get update")
        self.sh("apt-get", "update", "-q", timeout=600)
        self.step(f"apt-get install ./{os.path.basename(self.deb)}")
        r = self.sh("sh", "-c", f"cd /root && apt-get install -y -q ./{os.path.basename(self.deb)}", timeout=900)
        pulled = re.findall(r"^Setting up (\S+) ", r.stdout, re.M)
        print(f"           apt set up {len(pulled)} packages: {' '.join(p.split(':')[0] for p in pulled)}")
        self.assertIn("libyaml-cpp0.7", " ".join(pulled))  # dependencies came from the mirror
        self.assertEqual(self.sh("dpkg-query", "-W", "-f=${Status} ${Version}", "tend").stdout,
                         f"install ok installed {self.version}")
        self.sh("tendd", "--check", "/etc/tend/tend.yaml")
        self.assertEqual(self.sh("systemctl", "is-enabled", "tend.service").stdout.strip(), "enabled")
        wait_for(lambda: self.active() == "active", timeout=30, what="tend active after install" + self.journal())
        for group in ("tend", "tend-admin"):
            self.sh("getent", "group", group)
        conffiles = self.sh("dpkg-query", "-W", "-f=${Conffiles}", "tend").stdout
        self.assertIn("/etc/tend/tend.yaml", conffiles)
        self.assertEqual(self.sh("stat", "-c", "%a %U:%G", "/etc/tend/tend.yaml").stdout.strip(), "640 root:root")
        self.assertEqual(self.sh("stat", "-c", "%a %U:%G", "/var/lib/tend").stdout.strip(), "750 root:root")
        self.assertEqual(self.sh("stat", "-c", "%a %G", "/run/tend/tend.sock").stdout.strip(), "660 tend")
        for shipped in ("/usr/share/man/man1/tend.1.gz", "/usr/share/man/man5/tend.yaml.5.gz",
                        "/usr/share/man/man8/tendd.8.gz", "/usr/share/bash-completion/completions/tend"):
            self.assertEqual(self.box.run("test", "-e", shipped).returncode, 0, f"{shipped} not installed")
        if self.box.run("sh", "-c", "command -v man").returncode == 0:
            page = self.sh("man", "-P", "cat", "tend", env={"MANWIDTH": "80"}).stdout
            self.assertIn("tend", page)
            self.assertGreater(len(page.splitlines()), 10, page)
            print(f"           man tend: {len(page.splitlines())} lines")
        else:
            print("           man(1) is not in this Debian root: the pages' rendering is checked by test_cli")

    def status_by_group_members(self):
        self.step("tend status as a member of tend, and as a stranger")
        self.sh("useradd", "--create-home", "--groups", "tend", "alice")
        self.sh("useradd", "--create-home", "--groups", "tend,tend-admin", "carol")
        self.sh("useradd", "--create-home", "bob")
        r = self.sh("runuser", "-u", "alice", "--", "tend", "status", "--json")
        self.assertEqual(json.loads(r.stdout)["entries"], [])  # the starting config runs nothing
        r = self.sh("runuser", "-u", "bob", "--", "tend", "status", ok=False)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)  # cannot open the socket

    def reload_and_jobs_under_the_unit(self):
        self.step("systemctl reload (a conf.d file); jobs as another user and to syslog under the hardened unit")
        pid = self.show("MainPID")
        with open(self.box.path("/etc/tend/conf.d/package-test.yaml"), "w") as f:
            f.write(CONF_D_JOBS)
        self.sh("systemctl", "reload", "tend.service")
        wait_for(lambda: "as-nobody" in self.box.run("tend", "status").stdout, timeout=20,
                 what="the reloaded configuration" + self.journal())
        self.assertEqual(self.show("MainPID"), pid, "reload must not restart")
        r = self.sh("runuser", "-u", "alice", "--", "tend", "run", "as-nobody", ok=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # reading is not running
        self.assertIn("admin", r.stderr)
        r = self.sh("runuser", "-u", "carol", "--", "tend", "run", "as-nobody", "--wait")  # an admin may
        self.assertIn("nobody", r.stdout)
        self.sh("tend", "run", "to-syslog", "--wait")
        wait_for(lambda: "hello from a job" in self.box.run("journalctl", "-t", "tend-package-test",
                                                               "--no-pager").stdout,
                 timeout=20, what="the job's syslog line in the journal")
        with open(f"/proc/{self.host_pid(pid)}/status") as f:
            status = f.read()
        # Jobs may use sudo and file capabilities: the hardening must not imply NoNewPrivileges.
        self.assertIn("NoNewPrivs:\t0", status)

    def host_pid(self, ns_pid):
        """The host's PID of a process of the namespace."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    for line in f:
                        if line.startswith("NSpid:"):
                            ids = line.split()[1:]
                            if len(ids) == 2 and ids[1] == ns_pid:
                                ns = os.readlink(f"/proc/{entry}/ns/pid")
                                if ns == os.readlink(f"/proc/{self.box.systemd_pid}/ns/pid"):
                                    return int(entry)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        raise AssertionError(f"no host pid for {ns_pid}")

    def hardening_score(self):
        r = self.sh("systemd-analyze", "security", "--no-pager", "tend.service")
        score = float(re.search(r"Overall exposure level for tend\.service: ([0-9.]+)", r.stdout).group(1))
        self.step(f"systemd-analyze security tend.service: {score}")
        self.assertLessEqual(score, 4.5, r.stdout)

    def stop_and_start(self):
        self.step("systemctl stop")
        started = time.monotonic()
        self.sh("systemctl", "stop", "tend.service", timeout=120)
        took = time.monotonic() - started
        self.assertEqual(self.active(), "inactive")
        self.assertEqual(self.show("Result"), "success")  # exited by itself, not killed at the timeout
        self.assertLess(took, 90)
        print(f"           stopped in {took:.2f}s (TimeoutStopSec=90s)")
        self.sh("systemctl", "start", "tend.service")
        self.assertEqual(self.active(), "active")

    def upgrade_restarts(self):
        self.step("upgrade: restarted on the new version")
        pid = self.show("MainPID")
        r = self.sh("apt-get", "install", "-y", "-q", "/root/tend-up1.deb", timeout=300)
        self.assertNotIn("NOT restarted", r.stdout + r.stderr)
        self.assertEqual(self.sh("dpkg-query", "-W", "-f=${Version}", "tend").stdout, self.version + "+up1")
        wait_for(lambda: self.active() == "active" and self.show("MainPID") not in ("0", pid), timeout=30,
                 what="a new MainPID after the upgrade" + self.journal())
        self.sh("tend", "status")

    def broken_config_upgrade_keeps_the_old_daemon(self):
        self.step("upgrade with a broken /etc/tend/tend.yaml: the old daemon keeps running")
        pid = self.show("MainPID")
        path = self.box.path("/etc/tend/tend.yaml")
        with open(path) as f:
            good = f.read()
        with open(path, "a") as f:
            f.write("jobs:\n  broken:\n    schedule: \"@daily\"\n    command: [\"true\"]\n    timeout: 300\n")
        self.assertEqual(self.box.run("tendd", "--check", "/etc/tend/tend.yaml").returncode, 1)
        r = self.sh("apt-get", "install", "-y", "-q", "/root/tend-up2.deb", timeout=300)
        self.assertIn("was NOT restarted", r.stdout + r.stderr)
        self.assertIn("did you mean 300s?", r.stdout + r.stderr)  # the errors are shown
        self.assertEqual(self.sh("dpkg-query", "-W", "-f=${Status} ${Version}", "tend").stdout,
                         f"install ok installed {self.version}+up2")
        self.assertEqual(self.active(), "active")
        self.assertEqual(self.show("MainPID"), pid)
        self.sh("tend", "status")
        with open(path, "w") as f:
            f.write(good)
        self.sh("systemctl", "restart", "tend.service")

    def remove_and_purge(self):
        self.step("apt-get remove: stopped, /etc/tend kept")
        os.unlink(self.box.path("/etc/tend/conf.d/package-test.yaml"))
        self.sh("apt-get", "remove", "-y", "-q", "tend", timeout=300)
        self.assertNotEqual(self.active(), "active")
        self.assertFalse(os.path.exists(self.box.path("/usr/bin/tendd")))
        self.assertTrue(os.path.exists(self.box.path("/etc/tend/tend.yaml")))
        self.assertTrue(os.path.isdir(self.box.path("/var/lib/tend")))
        self.step("apt-get purge: /etc/tend and /var/lib/tend gone, the groups kept")
        self.sh("apt-get", "purge", "-y", "-q", "tend", timeout=300)
        self.assertFalse(os.path.exists(self.box.path("/etc/tend")))
        self.assertFalse(os.path.exists(self.box.path("/var/lib/tend")))
        self.sh("getent", "group", "tend")  # kept on purpose (see debian/postrm)
        r = self.box.run("dpkg-query", "-W", "-f=${Status}", "tend")
        self.assertTrue(r.returncode != 0 or r.stdout.endswith("not-installed"), r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
