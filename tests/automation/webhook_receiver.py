"""A real HTTP server on 127.0.0.1 that records what webhooks send it, for the delivery tests."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    # What to answer per path: (status, headers, body); paths not listed answer 200.
    answers: dict[str, Callable[[], tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = receiver.answers.get(self.path)
            if self.path == "/drip":  # headers at once, then the body a byte at a time
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                try:
                    for _ in range(100):
                        self.wfile.write(b".")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    pass  # the client gave up, as it should
                return
            status, headers, content = answer() if answer else (200, {}, b"thanks")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client read what it wanted and hung up
                self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


def serve() -> tuple[Receiver, http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(0)))
    found = Receiver(server.server_address[1])
    server.RequestHandlerClass = _handler(found)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return found, server
