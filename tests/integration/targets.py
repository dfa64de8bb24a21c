"""A real HTTP server on loopback for probe tests, with modes chosen by path.

  /ok                 200 "ok"            /status/N        status N
  /hang               accept, never answer (until the server stops)
  /trickle            200, one byte every 200 ms for a minute
  /huge               200, 100 MB body     /body/TEXT       200 with body TEXT
  /json/KEY/VALUE     200 {"KEY": "VALUE"} /toggle          200 or 500 as set by set_healthy()
Every request is logged with its arrival time (monotonic) so tests can measure intervals.
The server runs in a thread of the test process; stop() ends it (hanging handlers included).
"""

import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time


class Target:
    def __init__(self, tls_cert=None, tls_key=None):
        self.requests = []  # (monotonic time, path)
        self.healthy = True
        self.heal_file = None  # when set, /toggle is healthy iff this file exists
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, ctype="text/plain"):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with target.lock:
                    target.requests.append((time.monotonic(), self.path))
                p = self.path.split("?")[0]  # the query only tells probes apart in the log
                try:
                    if p == "/ok":
                        self.reply(200, "ok")
                    elif p.startswith("/status/"):
                        self.reply(int(p.split("/")[2]), "status")
                    elif p == "/hang":
                        target.stopping.wait(120)
                    elif p == "/trickle":
                        self.send_response(200)
                        self.send_header("Content-Length", "300")
                        self.end_headers()
                        for _ in range(300):
                            if target.stopping.wait(0.2):
                                return
                            self.wfile.write(b"x")
                            self.wfile.flush()
                    elif p == "/huge":
                        size = 100 * 1024 * 1024
                        self.send_response(200)
                        self.send_header("Content-Length", str(size))
                        self.end_headers()
                        chunk = b"y" * 65536
                        for _ in range(size // len(chunk)):
                            self.wfile.write(chunk)
                    elif p.startswith("/body/"):
                        self.reply(200, p[len("/body/"):])
                    elif p.startswith("/json/"):
                        _, _, key, value = p.split("/", 3)
                        self.reply(200, json.dumps({key: value}), "application/json")
                    elif p == "/toggle":
                        healthy = target.healthy if target.heal_file is None else os.path.exists(target.heal_file)
                        self.reply(200 if healthy else 500, "toggle")
                    else:
                        self.reply(404, "no such mode")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 1024

            def handle_error(self, request, client_address):
                # A client that went away mid-request (a killed tendd) is part of the tests, not news.
                if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        scheme = "https" if isinstance(self.server.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def times(self, path):
        with self.lock:
            return [t for t, p in self.requests if p.split("?")[0] == path]

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
