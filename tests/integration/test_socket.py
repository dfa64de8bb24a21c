"""The status socket under bad input: garbage, oversized lines, idle and abusive clients."""

import json
import os
import random
import socket
import subprocess
import unittest

from harness import CHILD, TendTestCase, wait_for


def request(path, payload, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(payload)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


class SocketTest(TendTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.daemon(f"""
jobs:
  j:
    schedule: "@daily"
    command: [{CHILD}, exit, "0"]
""")

    def test_malformed_requests_get_error_replies(self):
        for payload, message in [(b"not json\n", "malformed request"), (b"[1,2]\n", "expected a JSON object"),
                                 (b'{"x":1}\n', 'missing \\"cmd\\"'), (b'{"cmd":"fly"}\n', "unknown command"),
                                 (b'{"cmd":"history"}\n', 'missing \\"name\\"'),
                                 (b'{"cmd":"history","name":"j","n":"x"}\n', "must be an integer")]:
            reply = request(self.d.socket, payload)
            doc = json.loads(reply)
            self.assertFalse(doc["ok"], payload)
            self.assertIn(message, reply.decode(), payload)

    def test_oversized_request_is_refused(self):
        reply = request(self.d.socket, b'{"cmd":"status","pad":"' + b"x" * (70 * 1024) + b'"}\n')
        doc = json.loads(reply)
        self.assertFalse(doc["ok"])
        self.assertIn("too large", doc["error"])

    def test_idle_and_garbage_clients_do_not_stall_others(self):
        idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(20)]
        for s in idle:
            s.connect(self.d.socket)
        half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        half.connect(self.d.socket)
        half.sendall(b'{"cmd":"sta')  # never finishes its line
        rng = random.Random(7)
        for _ in range(200):
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))).replace(b"\n", b" ") + b"\n"
            reply = request(self.d.socket, junk)
            self.assertTrue(reply == b"" or json.loads(reply)["ok"] is False)
        r = self.d.tend("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        for s in idle + [half]:
            s.close()
        self.assertIsNone(self.d.proc.poll(), "tendd died")

    def test_several_requests_on_one_connection(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.d.socket)
        s.sendall(b'{"cmd":"status"}\n{"cmd":"history","name":"j"}\n')
        f = s.makefile("rb")
        first, second = json.loads(f.readline()), json.loads(f.readline())
        s.close()
        self.assertTrue(first["ok"] and "entries" in first)
        self.assertTrue(second["ok"] and "runs" in second)


class CliTest(TendTestCase):
    def test_exit_codes(self):
        env = dict(os.environ, TEND_SOCKET=os.path.join(self.dir, "nothing.sock"))
        r = subprocess.run([os.environ.get("TEND", "tend"), "status"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 3)
        self.assertIn("nothing.sock", r.stderr)
        r = subprocess.run([os.environ.get("TEND", "tend"), "frobnicate"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 2)

    def test_next_needs_no_daemon(self):
        tend = os.environ.get("TEND", "tend")
        r = subprocess.run([tend, "next", "30 2 * * *", "--tz", "America/New_York", "--from",
                            "2026-03-07T12:00:00Z", "-n", "3"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["2026-03-08T03:00:00-04:00",
                                            "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"])
        r = subprocess.run([tend, "next", "0 0 30 2 *"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("never", r.stderr)

    def test_status_table_is_readable(self):
        d = self.daemon(f"""
jobs:
  nightly:
    schedule: "0 3 * * *"
    command: [{CHILD}, exit, "0"]
""")
        r = d.tend("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("NAME", r.stdout)
        self.assertRegex(r.stdout, r"job\s+nightly\s+idle")


if __name__ == "__main__":
    unittest.main()
