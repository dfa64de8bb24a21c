"""sd_notify and permissions, through the real tendd.

The notify socket here is a plain datagram socket the test owns: the messages are what systemd
would receive (READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1); booting systemd itself for this is
left to the probes' remedy tests, which need it anyway.
"""

import os
import pwd
import socket
import subprocess
import unittest

from harness import CHILD, TEND, TendTestCase, precondition, wait_for


class NotifyTest(TendTestCase):
    def test_ready_reloading_watchdog_stopping(self):
        path = os.path.join(self.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.2)
        messages = []

        def drain():
            try:
                while True:
                    messages.append(sock.recv(4096).decode())
            except (socket.timeout, BlockingIOError):
                pass
            return messages

        os.environ["NOTIFY_SOCKET"] = path
        os.environ["WATCHDOG_USEC"] = "400000"  # ping every 200 ms
        try:
            d = self.daemon(f"""
jobs:
  j:
    schedule: "@daily"
    command: [{CHILD}, exit, "0"]
""")
        finally:
            del os.environ["NOTIFY_SOCKET"]
            del os.environ["WATCHDOG_USEC"]
        wait_for(lambda: any("READY=1" in m for m in drain()), what="READY=1")
        wait_for(lambda: sum("WATCHDOG=1" in m for m in drain()) >= 2, what="watchdog pings")
        self.assertEqual(d.tend("reload").returncode, 0)
        wait_for(lambda: any("RELOADING=1" in m and "MONOTONIC_USEC=" in m for m in drain()), what="RELOADING=1")
        d.stop()
        wait_for(lambda: any("STOPPING=1" in m for m in drain()), what="STOPPING=1")
        sock.close()


class PrivilegeTest(TendTestCase):
    def test_job_user_and_admin_rights(self):
        precondition(os.geteuid() == 0, "root, to drop privileges")
        os.chmod(self.dir, 0o755)
        nobody = pwd.getpwnam("nobody")
        child = os.path.join(self.dir, "child")
        subprocess.run(["cp", CHILD, child], check=True)
        os.chmod(child, 0o755)
        d = self.daemon(f"""
jobs:
  as-nobody:
    schedule: "@daily"
    command: [{child}, id]
    user: nobody
""", start=False)
        with open(d.config) as f:
            text = f.read()
        with open(d.config, "w") as f:
            f.write(text.replace("daemon:\n", "daemon:\n  socket_group: nogroup\n", 1))
        d.start()
        r = d.tend("run", "as-nobody", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"uid={nobody.pw_uid} gid={nobody.pw_gid}", r.stdout)

        as_nobody = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", TEND,
                     "--socket", d.socket]
        r = subprocess.run(as_nobody + ["status", "--json"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(as_nobody + ["run", "as-nobody"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("permission denied", r.stderr)
        r = subprocess.run(as_nobody + ["reload"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)


if __name__ == "__main__":
    unittest.main()
