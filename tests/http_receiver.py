"""The one real HTTP server the tests use to play a bot, HubSpot's token endpoint or a webhook target.

A threaded `http.server` on 127.0.0.1, not a mock: the portal's real `requests` call goes over a
socket, so timeouts, status codes, kept-alive connections and the exact bytes signed are what the
other side would see. Every request is recorded; what it answers is up to `respond(request)`: an
int (a status), a `Reply`, or None (200 with `{"ok": true}`). The test-specific behaviour (signature
checks, queued failures, held requests) lives in the `respond` of each caller.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    url: str  # the full URL as the sender addressed it (what a signature covers)
    path: str  # without the query string
    headers: dict[str, str]
    body: bytes
    client_port: int  # one TCP connection = one client port
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before answering (a slow peer, or a read timeout)


Respond = Callable[[Request], "int | Reply | None"]


class HTTPReceiver:
    """`with HTTPReceiver(respond) as server:` serves until the block ends (or start() / stop())."""

    def __init__(self, respond: Respond | None = None, *, port: int = 0, keep_alive: bool = False) -> None:
        self.respond = respond
        self.port = port
        self.keep_alive = keep_alive
        self.requests: list[Request] = []
        self.cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    # Up and down -------------------------------------------------------------------------------

    def start(self) -> HTTPReceiver:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]  # kept: start() again serves the same URL
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the socket: senders now get "connection refused"."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HTTPReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # What arrived ------------------------------------------------------------------------------

    def matching(self, *, method: str | None = "POST", path: str | None = None) -> list[Request]:
        with self.cond:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def wait_for(
        self, count: int, *, method: str = "POST", path: str | None = None, timeout: float = 10
    ) -> list[Request]:
        """Block until `count` matching requests arrived; return them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = self.matching(method=method, path=path)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} {method} to {path or 'any path'}, got {len(found)}"
                    )
                self.cond.wait(remaining)

    # One request -------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(
            method=handler.command,
            url=self.url(handler.path),
            path=urlsplit(handler.path).path,
            headers=dict(handler.headers.items()),
            body=body,
            client_port=handler.client_address[1],
        )
        with self.cond:
            self.requests.append(request)
            self.cond.notify_all()
        answer = self.respond(request) if self.respond else None
        reply = answer if isinstance(answer, Reply) else Reply(status=answer or 200)
        if reply.delay:
            time.sleep(reply.delay)
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except OSError:
            pass  # the sender gave up waiting (a read timeout) or died

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def do_POST(self):
                receiver._handle(self)

            do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

            def log_message(self, *args):
                pass

        return Handler
