"""A real HTTP receiver on loopback for the alerting tests: it stands in for Slack, Discord, a
generic webhook endpoint and a heartbeat service.

It runs in threads of the test process on 127.0.0.1 (an ephemeral port unless one is given),
records every request (monotonic time, method, path, headers, raw body and the body parsed as
JSON when it is JSON) and answers according to its mode:

  ok         200 {"ok": true}
  error      500
  ratelimit  429 with "Retry-After: N" (N = retry_after)
  reject     400
  hang       read the request, then answer nothing until the mode changes or stop()
  slow       as ok, `delay` seconds later (sooner if stopped)

With `echo`, error replies repeat the request's path and Authorization header (as some servers
do), so tests can check that the daemon scrubs what a receiver says back.
`script(["ratelimit", "ok"])` queues modes for the next requests, one each; the mode applies
once the queue is empty. `close()` closes the listening socket (connections are refused) and
`start()` opens the SAME port again. `stop()` ends everything, hanging handlers included.
Thread-safe; the record keeps the newest `max_requests` requests.
"""

import collections
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

MODES = ("ok", "error", "ratelimit", "reject", "hang", "slow")


class Request:
    __slots__ = ("at", "method", "path", "headers", "raw", "json")

    def __init__(self, at, method, path, headers, raw):
        self.at = at            # time.monotonic() when the request was read in full
        self.method = method
        self.path = path        # as sent: path and query
        self.headers = headers  # lower-cased names -> values
        self.raw = raw          # bytes
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def __repr__(self):
        return f"Request({self.method} {self.path} {self.raw[:200]!r})"


class _Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, receiver):
        self.receiver = receiver
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: a closed receiver has no live ones
    timeout = 30                   # a client that stalls mid-request does not hold a thread forever

    def log_message(self, *args):  # quiet
        pass

    def _handle(self):
        rcv = self.server.receiver
        rcv._track(self.connection, True)
        try:
            raw = self._body()
            rcv._record(Request(time.monotonic(), self.command, self.path,
                                {k.lower(): v for k, v in self.headers.items()}, raw))
            mode = rcv._next_mode()
            if mode == "hang":
                rcv._hang()
                return  # answer nothing; the connection is closed
            if mode == "slow":
                rcv._stopping.wait(rcv.delay)
                mode = "ok"
            status, headers = {
                "ok": (200, {}),
                "error": (500, {}),
                "ratelimit": (429, {"Retry-After": str(rcv.retry_after)}),
                "reject": (400, {}),
            }[mode]
            reply = {}
            if rcv.echo and status >= 400:
                # As servers do ("Cannot POST /path", "invalid token X"): the error repeats what was
                # asked, secrets and all, whole and in parts.
                auth = self.headers.get("Authorization") or ""
                reply["error"] = (f"cannot take {self.command} {self.path}: no route {self.path.split('?')[0]}, "
                                  f"bad token {auth.split()[-1] if auth else '-'} ({auth})")
            reply.update({"ok": status == 200, "mode": mode})
            body = json.dumps(reply).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (OSError, ValueError):
            pass  # the client went away, or stop() shut the connection
        finally:
            rcv._track(self.connection, False)

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = _handle


class Receiver:
    def __init__(self, mode="ok", retry_after=2, port=0, max_requests=10000, echo=False, delay=1.0):
        assert mode in MODES, mode
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests = collections.deque(maxlen=max_requests)
        self._mode = mode
        self._script = collections.deque()
        self._conns = set()
        self._stopping = threading.Event()
        self._generation = 0  # bumped by set_mode/close/stop: wakes hanging handlers
        self.retry_after = retry_after
        self.delay = delay  # seconds, for mode slow
        self.echo = echo  # error replies repeat the request's path and Authorization header
        self.port = port
        self._server = None
        self._thread = None
        self.start()

    # ---- lifecycle ----

    def start(self):
        """Listen (again) on 127.0.0.1:port; after close(), on the same port."""
        with self._lock:
            if self._server is not None:
                return self
            self._stopping.clear()
        server = None
        deadline = time.monotonic() + 10
        while server is None:
            try:
                server = _Server(("127.0.0.1", self.port), self)
            except OSError:
                if self.port == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # the old socket is still going away
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name=f"receiver-{self.port}", daemon=True)
        with self._lock:
            self._server, self._thread = server, thread
        thread.start()
        return self

    def close(self):
        """Stop listening (connect refused) and drop every open connection; keeps the record."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            self._generation += 1
            self._cond.notify_all()
            conns = list(self._conns)
        if server is not None:
            server.shutdown()
            server.server_close()
            thread.join(10)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        """End everything: the listener and every handler, hanging ones included."""
        self._stopping.set()
        self.close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    # ---- behaviour ----

    def set_mode(self, mode, retry_after=None):
        assert mode in MODES, mode
        with self._lock:
            self._mode = mode
            if retry_after is not None:
                self.retry_after = retry_after
            self._generation += 1
            self._cond.notify_all()

    def script(self, modes):
        """Answer the next requests with these modes, one each, then with the mode."""
        for m in modes:
            assert m in MODES, m
        with self._lock:
            self._script.extend(modes)

    # ---- the record ----

    def requests(self, path_prefix=None):
        with self._lock:
            rs = list(self._requests)
        return [r for r in rs if path_prefix is None or r.path.startswith(path_prefix)]

    def bodies(self, path_prefix=None):
        return [r.json for r in self.requests(path_prefix)]

    def clear(self):
        with self._lock:
            self._requests.clear()

    def wait_for(self, predicate=None, count=1, timeout=20.0, path_prefix=None, what="requests"):
        """Wait until `count` recorded requests (under path_prefix) satisfy predicate; returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [r for r in self._requests
                       if (path_prefix is None or r.path.startswith(path_prefix))
                       and (predicate is None or predicate(r))]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {count} {what}; "
                                         f"have {len(got)} of {len(self._requests)}: {list(self._requests)[-5:]!r}")
                self._cond.wait(min(left, 0.2))

    # ---- handler side ----

    def _record(self, req):
        with self._cond:
            self._requests.append(req)
            self._cond.notify_all()

    def _next_mode(self):
        with self._lock:
            return self._script.popleft() if self._script else self._mode

    def _hang(self):
        with self._cond:
            gen = self._generation
            while not self._stopping.is_set() and self._generation == gen:
                self._cond.wait(0.2)

    def _track(self, conn, add):
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)
