"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fds 3 and 4,
NUL-terminated JSON), standard library only. One browser per Browser object, in its own
session and temp profile; close() ends it (Browser.close, then SIGKILL to its process group).
"""

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

CHROMIUM = os.environ.get("TEND_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Browser:
    def __init__(self, log_path):
        self.profile = tempfile.mkdtemp(prefix="tend-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds():
            # The pipe ends become fds 3 (commands in) and 4 (replies out), inheritable.
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe",
                                      "about:blank"], preexec_fn=child_fds, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events = []

    def send(self, method, params=None, session=None, timeout=60):
        """A command's result (raises on a protocol error)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        my_id = self._id
        reply = self.wait(lambda m: m.get("id") == my_id, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, predicate, timeout=60):
        """The first message matching predicate; the others are kept in self.events."""
        for i, m in enumerate(self.events):
            if "id" not in m and predicate(m):
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                m = json.loads(raw)
                if predicate(m):
                    return m
                self.events.append(m)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching DevTools message")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise EOFError("the browser went away")
                self._buf += chunk

    def new_page(self):
        """A fresh tab, attached: its session id (Page, Runtime, Log and Performance enabled)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Performance"):
            self.send(f"{domain}.enable", session=session)
        return session

    def navigate(self, session, url, timeout=60):
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, timeout)

    def evaluate(self, session, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate: {r['exceptionDetails']}")
        return r["result"].get("value")

    def problems(self):
        """Console errors, uncaught exceptions and CSP or other violations reported so far."""
        out = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(("exception", p.get("exceptionDetails", {}).get("text")))
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append(("console", p.get("args")))
            elif method == "Log.entryAdded" and (p["entry"].get("level") in ("error", "warning")
                                                or p["entry"].get("source") in ("security", "violation")):
                out.append(("log", p["entry"].get("source"), p["entry"].get("text")))
        return out

    def close(self):
        try:
            if self.proc.poll() is None:
                self._id += 1
                os.write(self._to_browser, json.dumps({"id": self._id, "method": "Browser.close"}).encode() + b"\0")
                self.proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
