"""The bot: an asyncio HTTP server on 127.0.0.1 receiving the portal's signed callbacks.

Each POST is verified as a bot would (X-HITL-Signature: HMAC-SHA256 of "<t>.<raw body>" with the
callback secret, any v1 may match, 5-minute window) and answered 401 when it does not verify, 200
otherwise. Accepted envelopes are handed to `on_event(envelope, received_at)` with the monotonic
clock, which is shared by every process on the machine, so the latency is one clock's difference.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable

from bench.env import HOST

logger = logging.getLogger(__name__)


def signature_ok(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [v for k, _, v in fields if k == "t"]
    signatures = [v for k, _, v in fields if k == "v1" and v]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(time.time() - int(stamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


class Receiver:
    def __init__(self, port: int, secret: str, on_event: Callable[[dict, float], None]):
        self.port, self.secret, self.on_event = port, secret, on_event
        self.accepted = 0
        self.rejected = 0
        self.errors = 0
        self.server: asyncio.Server | None = None
        self._open: dict[asyncio.Task, asyncio.StreamWriter] = {}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/bot/callback"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, HOST, self.port, backlog=512)

    async def stop(self) -> None:
        """Stop listening and end the connections the portal keeps alive, letting their handlers
        return: left open, they were cancelled when the event loop closed, and asyncio printed a
        traceback for each."""
        if self.server is not None:
            self.server.close()
            for writer in self._open.values():
                writer.close()
            if self._open:
                await asyncio.wait(list(self._open), timeout=5)
            await self.server.wait_closed()

    def _answer(self, headers: dict, body: bytes, received: float) -> bytes:
        try:
            if not signature_ok(headers.get("x-hitl-signature", ""), body, self.secret):
                self.rejected += 1
                return b"401 Unauthorized"
            self.on_event(json.loads(body), received)
        except Exception:  # a bug here must show as the bot failing, not hang the portal's worker
            logger.exception("the bench's bot failed on a callback")
            self.errors += 1
            return b"500 Internal Server Error"
        self.accepted += 1
        return b"200 OK"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._open[task] = writer
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                received = time.monotonic()
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status = self._answer(headers, body, received)
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._open.pop(task, None)
            writer.close()
