"""The systemd remedy against a real systemd, through tests/helpers/remedy_driver.

CI has no systemd as PID 1, so the tests boot one as PID 1 of a throwaway PID+mount+UTS namespace,
with fresh tmpfs on /tmp, /run, /var/tmp and /var/log first (systemd's boot-time tmpfiles would
otherwise clean the host's /tmp). The driver then runs inside that namespace (nsenter) and talks to
that systemd over the namespace's own system bus. Nothing outside those tmpfs mounts is written in
the namespace; the driver binary is copied to a directory the namespace shares with the host (not
under the masked ones: the build tree may be under /tmp) and removed again.

The namespace is torn down when the tests end, also on failure: SIGKILL to its systemd (PID 1 of
the namespace: the kernel then kills everything in it) and to the unshare process group — each
by the PID this test started or found, never by name.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import pid_alive, precondition, systemd_child, wait_for

DRIVER = os.environ.get("TEND_REMEDY_DRIVER", "remedy_driver")
SYSTEMD = "/lib/systemd/systemd"
MASKED = ("/tmp", "/run", "/var/tmp", "/var/log")
BOOT = ("mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/tmp && "
        "mount -t tmpfs tmpfs /var/log && exec /lib/systemd/systemd --system --unit=basic.target --log-target=null")
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--mount", "--uts", "--propagation", "private"]


def unshare_problem():
    """Why a namespace cannot be booted here, or None."""
    if not os.path.exists(SYSTEMD):
        return f"no {SYSTEMD}"
    if not shutil.which("unshare") or not shutil.which("nsenter"):
        return "no unshare/nsenter"
    try:
        r = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        return f"unshare: {e}"
    if r.returncode != 0:
        return f"unshare is not permitted here: {r.stderr.strip()}"
    return None


def outside_masked_dirs(path):
    real = os.path.realpath(path)
    return not any(real == m or real.startswith(m + "/") for m in MASKED)


def shared_scratch_dir():
    """A fresh directory the namespace sees as the host does."""
    for base in ("/var/lib", "/var/cache", os.path.expanduser("~"), "/srv", "/opt"):
        if os.path.isdir(base) and os.access(base, os.W_OK) and outside_masked_dirs(base):
            return tempfile.mkdtemp(prefix="tend-remedy-test-", dir=base)
    raise unittest.SkipTest("no writable directory outside /tmp, /run, /var/tmp and /var/log")


class Namespace:
    """systemd booted as PID 1 of a new PID/mount/UTS namespace."""

    def __init__(self):
        self.unshare = None
        self.systemd_pid = None

    def boot(self):
        # start_new_session: unshare leads its own session and process group (what setsid(1) gives).
        self.unshare = subprocess.Popen([*UNSHARE, "bash", "-c", BOOT], start_new_session=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.systemd_pid = wait_for(self._find_systemd, timeout=30, what="systemd in the namespace")
        wait_for(lambda: self.run("systemctl", "is-system-running").stdout.strip() in ("running", "degraded"),
                 timeout=60, interval=0.1, what="the namespace's systemd to finish booting")

    def _find_systemd(self):
        return systemd_child(self.unshare)

    def run(self, *argv, input=None, timeout=120):
        return subprocess.run(["nsenter", "-t", str(self.systemd_pid), "-m", "-p", "-u", "--", *argv],
                              input=input, capture_output=True, text=True, timeout=timeout)

    def kill(self):
        if self.systemd_pid:
            try:
                os.kill(self.systemd_pid, signal.SIGKILL)  # PID 1 of the namespace: takes all in it along
            except ProcessLookupError:
                pass
        if self.unshare and self.unshare.poll() is None:
            try:
                os.killpg(self.unshare.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.unshare:
            self.unshare.wait(30)
        if self.systemd_pid:
            # The kernel tears the namespace down after PID 1 dies; wait for that to be over.
            wait_for(lambda: not pid_alive(self.systemd_pid), timeout=30, what="the namespace's systemd to go")


class SystemdRemedyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        precondition(not unshare_problem(), f"a systemd namespace: {unshare_problem()}")
        cls.scratch = shared_scratch_dir()
        cls.addClassCleanup(shutil.rmtree, cls.scratch, ignore_errors=True)
        cls.driver = os.path.join(cls.scratch, "remedy_driver")
        shutil.copy2(DRIVER, cls.driver)
        cls.ns = Namespace()
        cls.addClassCleanup(cls.ns.kill)  # registered before booting: runs even if the boot fails
        start = time.monotonic()
        cls.ns.boot()
        print(f"\n  namespace systemd pid {cls.ns.systemd_pid} booted in {time.monotonic() - start:.1f}s")

    def systemctl_show(self, unit, prop):
        return self.ns.run("systemctl", "show", "-p", prop, "--value", unit).stdout.strip()

    def transient(self, unit, *argv, props=()):
        args = ["systemd-run", f"--unit={unit}"] + [f"--property={p}" for p in props] + list(argv)
        r = self.ns.run(*args)
        self.assertEqual(r.returncode, 0, r.stderr)

    def unit_file(self, unit, text):
        # /run/systemd/system is on the namespace's own /run tmpfs.
        r = self.ns.run("tee", f"/run/systemd/system/{unit}", input=text)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ns.run("systemctl", "daemon-reload")
        self.assertEqual(r.returncode, 0, r.stderr)

    def drive(self, *args):
        start = time.monotonic()
        r = self.ns.run(self.driver, *args, timeout=300)
        wall_ms = int((time.monotonic() - start) * 1000)
        lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
        self.assertEqual(len(lines), 1, f"driver printed {r.stdout!r}, stderr {r.stderr!r}")
        outcome = json.loads(lines[0])
        print(f"\n  remedy_driver {' '.join(args)}: rc={r.returncode} duration_ms={outcome['duration_ms']} "
              f"wall_ms={wall_ms} detail={outcome['detail']!r}")
        return r.returncode, outcome

    def test_restart_unit_gets_a_new_main_pid(self):
        unit = "tend-test-svc.service"
        self.transient("tend-test-svc", "/bin/sleep", "infinity", props=["Type=simple"])
        before = wait_for(lambda: int(self.systemctl_show(unit, "MainPID") or 0), what="MainPID")
        rc, out = self.drive("systemd", unit)
        self.assertEqual(rc, 0, out)
        self.assertTrue(out["ok"])
        self.assertEqual(out["detail"], f"RestartUnit {unit}: job done")
        self.assertIn("JobRemoved: done", out["output"])
        after = int(self.systemctl_show(unit, "MainPID") or 0)
        self.assertNotEqual(after, 0)
        self.assertNotEqual(after, before)
        self.assertEqual(self.systemctl_show(unit, "ActiveState"), "active")

    def test_a_unit_that_does_not_exist_fails_with_the_bus_error(self):
        rc, out = self.drive("systemd", "tend-no-such-unit.service")
        self.assertEqual(rc, 1, out)
        self.assertFalse(out["ok"])
        self.assertEqual(out["detail"], "RestartUnit tend-no-such-unit.service: Unit "
                                        "tend-no-such-unit.service not found. (org.freedesktop.systemd1.NoSuchUnit)")

    def test_a_restart_that_fails_reports_the_job_result(self):
        unit = "tend-test-fail.service"
        self.unit_file(unit, "[Service]\nType=oneshot\nExecStart=/bin/false\n")
        rc, out = self.drive("systemd", unit)
        self.assertEqual(rc, 1, out)
        self.assertFalse(out["ok"])
        self.assertEqual(out["detail"], f"RestartUnit {unit}: job result failed")
        self.assertIn("JobRemoved: failed", out["output"])

    def test_a_job_that_outlasts_the_timeout_is_given_up(self):
        unit = "tend-test-slow.service"
        self.unit_file(unit, "[Service]\nType=oneshot\nExecStart=/bin/sleep 30\n")
        rc, out = self.drive("--timeout", "1000", "systemd", unit)
        self.assertEqual(rc, 1, out)
        self.assertFalse(out["ok"])
        self.assertRegex(out["detail"], rf"^RestartUnit {unit}: no result after 1s \(awaiting job \d+\)$")
        self.assertLess(out["duration_ms"], 5000)

    def test_losing_the_bus_while_awaiting_the_job_fails_at_once(self):
        unit = "tend-test-slow2.service"
        self.unit_file(unit, "[Service]\nType=oneshot\nExecStart=/bin/sleep 30\n")
        driver = subprocess.Popen(["nsenter", "-t", str(self.ns.systemd_pid), "-m", "-p", "-u", "--", self.driver,
                                   "--timeout", "60000", "systemd", unit],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            wait_for(lambda: unit in self.ns.run("systemctl", "list-jobs", "--no-legend").stdout,
                     what="the restart job to be queued")
            killed_at = time.monotonic()
            # Only the main process: signalling the whole cgroup can fail with EIO inside a
            # namespace whose cgroup tree systemd does not fully own (seen on CI).
            r = self.ns.run("systemctl", "kill", "--kill-whom=main", "--signal=SIGKILL", "dbus.service")
            self.assertEqual(r.returncode, 0, r.stderr)
            stdout, stderr = driver.communicate(timeout=30)
            waited = time.monotonic() - killed_at
        finally:
            if driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
                driver.wait(10)
        self.assertEqual(driver.returncode, 1, stderr)
        out = json.loads(stdout.strip().splitlines()[-1])
        print(f"\n  bus killed while awaiting the job: reported after {waited * 1000:.0f} ms: {out['detail']!r}")
        self.assertFalse(out["ok"])
        self.assertTrue(out["detail"].startswith(f"RestartUnit {unit}: lost the system bus: "), out["detail"])
        self.assertLess(waited, 10)
        # dbus.socket is still there: the next client brings the bus back for the other tests.
        wait_for(lambda: self.ns.run("busctl", "--system", "status").returncode == 0, what="the bus to come back")


if __name__ == "__main__":
    unittest.main()
