"""A fresh Debian 12 root file system for the package tests, and a real systemd booted in it.

`rootfs_tarball(cache_dir)` makes `debootstrap --variant=minbase bookworm` (plus systemd, dbus and
man-db, which a Debian server has) from the configured Debian mirror, once: into a tmpfs inside a
private mount namespace (dpkg's fsyncs cost nothing there, and nothing is left mounted if it dies),
packed as `cache_dir/bookworm-minbase.tar`. Later runs reuse the tarball.

`BootedRoot(tarball, workdir)` unpacks it into `workdir/root` and boots systemd as PID 1 of a new
PID+mount+UTS namespace whose root is that file system (pivot_root: the host's file systems are not
even visible in it), after mounting fresh tmpfs on its /tmp, /run, /var/tmp, /var/log and /dev/shm,
its own proc (with /proc/sys read-only), a read-only sysfs with the cgroup tree, and its own /dev
with the pseudo devices only; units that would touch kernel-wide state are masked. Commands run inside with nsenter. The network namespace is the
host's, so apt reaches the mirror; nothing in the tests listens on anything but loopback.

`kill()` ends it: SIGKILL to its systemd (PID 1 of the namespace: the kernel kills the rest) and to
the unshare process group, by the PIDs this module started or found, never by name. Every mount
was made inside the namespace and goes with it; the unpacked root is removed only when no mount
of the host's is under it.
"""

import os
import shutil
import signal
import subprocess
import time

from harness import pid_alive, systemd_child, wait_for

SUITE = "bookworm"
MIRROR = os.environ.get("TEND_DEBIAN_MIRROR", "http://deb.debian.org/debian")
INCLUDE = "systemd,dbus,man-db"
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--mount", "--uts", "--propagation", "private"]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DEBOOTSTRAP = r"""
set -e
mnt=$1 tarball=$2 log=$3
mount -t tmpfs -o size=4g,mode=0755 tend-debootstrap "$mnt"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$mnt" "$MIRROR" >"$log" 2>&1
rm -f "$mnt"/var/cache/apt/archives/*.deb
tar -C "$mnt" --one-file-system --numeric-owner -cf "$tarball.partial" .
mv "$tarball.partial" "$tarball"
"""

BOOT = r"""
set -e
r=$1
mount --bind "$r" "$r"
mount -t proc proc "$r/proc"
# Kernel settings are the host's: read-only, as in a container (systemd-sysctl then skips itself).
for p in sys sysrq-trigger; do
  if [ -e "$r/proc/$p" ]; then mount --bind "$r/proc/$p" "$r/proc/$p"; mount -o remount,bind,ro "$r/proc/$p"; fi
done
# /sys read-only, only the cgroup tree writable (systemd manages its units there).
mount -t sysfs -o ro sysfs "$r/sys"
mount --rbind /sys/fs/cgroup "$r/sys/fs/cgroup"
# Its own /dev with the pseudo devices only: nothing systemd or tmpfiles does there reaches the host's.
mount -t tmpfs -o mode=0755,nosuid tend-dev "$r/dev"
for n in null zero full random urandom tty; do touch "$r/dev/$n"; mount --bind "/dev/$n" "$r/dev/$n"; done
touch "$r/dev/console"; mount --bind /dev/null "$r/dev/console"
mkdir "$r/dev/pts" "$r/dev/shm" "$r/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
ln -s /proc/self/fd "$r/dev/fd"
for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$r/dev/${i#*:}"; done
for d in tmp run var/tmp var/log dev/shm; do mount -t tmpfs -o mode=1777 tmpfs "$r/$d"; done
chmod 0755 "$r/run" "$r/var/log"
cd "$r"
mkdir -p .host
pivot_root . .host
umount -l /.host
rmdir /.host
exec /lib/systemd/systemd --system --unit=basic.target
"""
# Units that would touch what the namespace shares with the host: the kernel's binfmt table, pstore,
# sysctls, modules, and the kernel's debug, tracing and config file systems.
MASK = ("systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount", "proc-sys-fs-binfmt_misc.mount",
        "systemd-pstore.service", "systemd-sysctl.service", "systemd-modules-load.service",
        "sys-kernel-debug.mount", "sys-kernel-tracing.mount", "sys-kernel-config.mount",
        "sys-fs-fuse-connections.mount")

def problem():
    """Why the package tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, namespaces)"
    for tool in ("debootstrap", "unshare", "nsenter", "dpkg-deb"):
        if not shutil.which(tool):
            return f"no {tool} (scripts/dev test installs it)"
    r = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return f"unshare is not permitted here: {r.stderr.strip()}"
    return None


def rootfs_tarball(cache_dir, timeout=1800):
    """The cached minbase tarball; made with debootstrap when missing. Returns (path, seconds spent)."""
    os.makedirs(cache_dir, exist_ok=True)
    tarball = os.path.join(cache_dir, f"{SUITE}-minbase.tar")
    if os.path.exists(tarball):
        return tarball, 0.0
    mnt = os.path.join(cache_dir, "debootstrap-mnt")
    os.makedirs(mnt, exist_ok=True)
    log = os.path.join(cache_dir, "debootstrap.log")
    env = dict(os.environ, INCLUDE=INCLUDE, SUITE=SUITE, MIRROR=MIRROR, PATH=PATH)
    started = time.monotonic()
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", DEBOOTSTRAP, "sh",
                             mnt, tarball, log], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        raise AssertionError(f"debootstrap took more than {timeout}s (log: {log})")
    finally:
        if os.path.exists(tarball + ".partial"):
            os.unlink(tarball + ".partial")
    if proc.returncode != 0:
        tail = ""
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                tail = f.read()[-3000:]
        raise AssertionError(f"debootstrap failed ({proc.returncode}): {out}\n{tail}")
    return tarball, time.monotonic() - started


def host_mounts_under(path):
    """Mount points of this (the host's) namespace at or below path."""
    real = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == real or point.startswith(real + "/"):
                found.append(point)
    return found


class BootedRoot:
    """The unpacked root file system, with systemd booted as PID 1 of a namespace inside it."""

    def __init__(self, tarball, workdir):
        self.workdir = workdir
        self.root = os.path.join(workdir, "root")
        self.tarball = tarball
        self.unshare = None
        self.systemd_pid = None

    def unpack(self):
        os.makedirs(self.root)
        subprocess.run(["tar", "-C", self.root, "--numeric-owner", "-xf", self.tarball], check=True, timeout=300)
        shutil.copyfile("/etc/resolv.conf", os.path.join(self.root, "etc", "resolv.conf"))  # for apt
        for unit in MASK:
            os.symlink("/dev/null", os.path.join(self.root, "etc", "systemd", "system", unit))
        return self

    def path(self, inside):
        """The host's path of a file of the root file system (for files the test puts in or reads)."""
        return os.path.join(self.root, inside.lstrip("/"))

    def boot(self):
        log = open(os.path.join(self.workdir, "boot.log"), "wb")
        self.unshare = subprocess.Popen([*UNSHARE, "sh", "-c", BOOT, "sh", self.root], start_new_session=True,
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        env={"PATH": PATH, "container": "tend-test"})
        log.close()
        self.systemd_pid = wait_for(self._find_systemd, timeout=30, what="systemd in the namespace")
        wait_for(lambda: self.run("systemctl", "is-system-running").stdout.strip() in ("running", "degraded"),
                 timeout=90, interval=0.2, what="the namespace's systemd to finish booting")
        return self

    def _find_systemd(self):
        return systemd_child(self.unshare, os.path.join(self.workdir, "boot.log"))

    def run(self, *argv, input=None, timeout=300, env=None):
        """argv inside the booted root, as root, with a clean environment."""
        base = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb", "DEBIAN_FRONTEND": "noninteractive"}
        base.update(env or {})
        cmd = ["nsenter", "-t", str(self.systemd_pid), "-m", "-p", "-u", "-r", "-w", "--",
               "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in base.items()], *argv]
        return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)

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
            # The kernel tears the namespace (and every mount in it) down after its PID 1 is gone.
            wait_for(lambda: not pid_alive(self.systemd_pid), timeout=30, what="the namespace's systemd to go")

    def remove(self):
        """Delete the unpacked root; refuses while anything of the host is mounted under it."""
        mounts = host_mounts_under(self.root)
        if mounts:
            raise AssertionError(f"not removing {self.root}: mounted under it: {mounts}")
        shutil.rmtree(self.root, ignore_errors=True)
