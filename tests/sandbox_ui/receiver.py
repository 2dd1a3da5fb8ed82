"""A webhook target and OAuth landing page on 127.0.0.1 that records what the sandbox sends it.

Webhook deliveries are POSTed to it (answered with queued status codes, 200 by default), and the
OAuth consent page redirects browsers to it (GETs are recorded too), so tests assert on what went
over the wire: raw bodies, headers, signatures. The server is tests/http_receiver.py.
"""

from __future__ import annotations

from collections import deque

from hubspot.utils.signature import Signature

from tests.http_receiver import HTTPReceiver, Reply, Request

BACK_AT_THE_APP = b"<!doctype html><title>Back at the app</title><h1>Back at the app</h1>"


def signature_valid(request: Request, client_secret: str) -> bool:
    """Checked with HubSpot's own implementation (hubspot-api-client), not ours."""
    return Signature.is_valid(
        request.headers["X-HubSpot-Signature-v3"],
        client_secret,
        request.body.decode(),
        http_uri=request.url,
        http_method="POST",
        signature_version="v3",
        timestamp=request.headers["X-HubSpot-Request-Timestamp"],
    )


class Receiver(HTTPReceiver):
    def __init__(self) -> None:
        super().__init__(self._answer)
        self.statuses: deque[int] = deque()  # answers for the next POSTs; 200 once empty
        self.delay = 0.0  # seconds to stall each POST (timeout tests)

    def _answer(self, request: Request) -> Reply:
        if request.method == "GET":
            return Reply(body=BACK_AT_THE_APP, content_type="text/html")
        with self.cond:
            status = self.statuses.popleft() if self.statuses else 200
        return Reply(status, b"ok" if status < 300 else b"receiver says no", "text/plain", delay=self.delay)

    def posts(self, path: str | None = None) -> list[Request]:
        return self.matching(method="POST", path=path)
