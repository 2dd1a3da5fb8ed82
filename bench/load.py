"""The load generator: asyncio, raw HTTP/1.1 over keep-alive connections on loopback.

It shares 2 cores with the server under test, so it must cost little per request: requests are
written as prebuilt bytes and responses parsed just enough (status line, headers, Content-Length
body), a few microseconds each, where a general client (httpx, requests) spends more CPU per
request than our baseline view does. Latency is measured per request on the monotonic clock, from
the first byte written to the last byte read. Every run is bounded in time and in count.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.env import HOST

Request = bytes  # a full HTTP/1.1 request


def build(
    method: str, path: str, port: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


# A kept-alive connection idle this long is closed rather than reused: below the keep-alive of
# the servers under test (gunicorn.conf.py: 5 s; gunicorn's default: 2 s), so a request is never
# written to a connection the server is closing as idle (it would fail unread, as a lost request).
IDLE_LIMIT_SECONDS = 1.0


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0  # time.monotonic() of the last answer read

    async def send(self, request: bytes) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        self.last_used = time.monotonic()
        return Response(status, headers, body)

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return b"".join(p[:-2] for p in parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, of 2xx answers
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # network errors by type
    elapsed: float = 0.0
    samples: list[Response] = field(default_factory=list)  # the first few responses
    cpu_ms: float | None = None  # the server's CPU per answered request, when the scenario measures it

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def record(self, started: float, response: Response | None, error: Exception | None = None) -> None:
        if error is not None:
            self.errors[type(error).__name__] += 1
            return
        self.statuses[response.status] += 1
        if 200 <= response.status < 300:
            self.latencies.append(time.monotonic() - started)
        if len(self.samples) < 5 or (not 200 <= response.status < 300 and len(self.samples) < 20):
            self.samples.append(response)


async def _timed(conn: Connection, request: bytes, result: Result) -> Response | None:
    """Send one request and record its answer (or error) and latency; None on a network error."""
    t0 = time.monotonic()
    try:
        response = await conn.send(request)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        conn.close()
        result.record(t0, None, exc)
        return None
    result.record(t0, response)
    return response


async def closed_loop(
    port: int,
    make: Callable[[int], bytes],
    *,
    concurrency: int,
    duration: float,
    max_requests: int,
    on_response: Callable[[int, Response], None] | None = None,
) -> Result:
    """`concurrency` clients, each sending its next request when the last one is answered (as
    HubSpot's delivery does: at most N requests in flight), until `duration` or `max_requests`."""
    result = Result()
    counter = iter(range(max_requests))
    start = time.monotonic()
    deadline = start + duration

    async def client() -> None:
        conn = Connection(port)
        try:
            for i in counter:
                if time.monotonic() >= deadline:
                    return
                response = await _timed(conn, make(i), result)
                if response is not None and on_response is not None:
                    on_response(i, response)
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.elapsed = time.monotonic() - start
    return result


async def open_loop(
    port: int,
    make: Callable[[int], bytes],
    *,
    rate: float,
    duration: float,
    on_sent: Callable[[int, float], None] | None = None,
    max_in_flight: int = 200,
    idle_limit: float = IDLE_LIMIT_SECONDS,
) -> Result:
    """Requests at a fixed rate whatever the server's answers (agents reply when they reply):
    request i is due at start + i/rate; `on_sent(i, t0)` gets its send time. Connections are kept
    alive between requests, for at most `idle_limit` seconds idle."""
    result = Result()
    idle: list[Connection] = []  # the most recently used last
    in_flight: set[asyncio.Task] = set()
    total = int(rate * duration)
    start = time.monotonic()

    def take() -> Connection:
        if idle and idle[-1].last_used >= time.monotonic() - idle_limit:
            return idle.pop()
        for conn in idle:  # each idle longer than the last one
            conn.close()
        idle.clear()
        return Connection(port)

    async def one(i: int) -> None:
        conn = take()
        request = make(i)
        if on_sent is not None:
            on_sent(i, time.monotonic())
        if await _timed(conn, request, result) is not None:
            idle.append(conn)

    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(in_flight) >= max_in_flight:
            result.errors["skipped (too many in flight)"] += 1
            continue
        task = asyncio.create_task(one(i))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=30)
    result.elapsed = time.monotonic() - start
    for conn in idle:
        conn.close()
    return result


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(int(-(-p * len(ordered) // 100)), 1)  # ceil(p/100 * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]
