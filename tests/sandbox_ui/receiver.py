"""A real HTTP server on 127.0.0.1 that records what the sandbox sends it.

Webhook deliveries are POSTed to it (answered with queued status codes, 200 by default), and the
OAuth consent page redirects browsers to it (GETs are recorded too), so tests assert on what went
over the wire: raw bodies, headers, signatures.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from hubspot.utils.signature import Signature


@dataclass
class Received:
    method: str
    url: str  # the full URL as the sender addressed it: what the signature covers
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    def signature_valid(self, client_secret: str) -> bool:
        """Checked with HubSpot's own implementation (hubspot-api-client), not ours."""
        return Signature.is_valid(
            self.headers["X-HubSpot-Signature-v3"],
            client_secret,
            self.body.decode(),
            http_uri=self.url,
            http_method="POST",
            signature_version="v3",
            timestamp=self.headers["X-HubSpot-Request-Timestamp"],
        )


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()  # answers for the next POSTs; 200 once empty
        self.delay = 0.0  # seconds to stall each POST (timeout tests)
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body: bytes) -> None:
                host, port = self.server.server_address[:2]
                with receiver._cond:
                    receiver.requests.append(
                        Received(
                            method=self.command,
                            url=f"http://{host}:{port}{self.path}",
                            path=urlsplit(self.path).path,
                            headers={k: v for k, v in self.headers.items()},
                            body=body,
                        )
                    )
                    receiver._cond.notify_all()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self._record(body)
                with receiver._cond:
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver says no")

            def do_GET(self):
                self._record(b"")
                page = b"<!doctype html><title>Back at the app</title><h1>Back at the app</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/hook") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def posts(self, path: str | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self.requests if r.method == "POST" and (path is None or r.path == path)]

    def wait_for(self, count: int, *, path: str | None = None, method: str = "POST", timeout: float = 10):
        """Block until `count` matching requests arrived; return them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.requests if r.method == method and (path is None or r.path == path)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} {method} to {path or 'any path'}, got {len(found)}"
                    )
                self._cond.wait(remaining)
