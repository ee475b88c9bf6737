"""A local HTTP receiver for the webhook tests: http.server in a thread on 127.0.0.1:0.

Each path behaves as its name says: /ok answers 200; /flaky 500 the first time and 200
after; /slow waits `slow_seconds` before answering; /gone 404; /busy 503. Every request
is recorded with its headers, body and arrival time (time.monotonic)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    slow_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: without this, Nagle's algorithm holds the
        # second until the client's delayed ACK (40 ms a request).
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.monotonic()))
                count = receiver.seen[self.path] = receiver.seen.get(self.path, 0) + 1
            if self.path == "/slow":
                time.sleep(receiver.slow_seconds)
                self._answer(200, b"late")
            elif self.path == "/flaky" and count == 1:
                self._answer(500, b"database is down")
            elif self.path == "/gone":
                self._answer(404, b"no such hook")
            elif self.path == "/busy":
                self._answer(503, b"try later")
            else:
                self._answer(200, b"ok, thanks")

        def _answer(self, code: int, body: bytes) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                # The sender hung up first (the timeout tests make it): there is nobody
                # left to answer, and the test asserts on the sender's side.
                return

    return Handler


def start_receiver() -> Receiver:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    receiver = Receiver(server)
    server.RequestHandlerClass = _handler(receiver)
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return receiver
