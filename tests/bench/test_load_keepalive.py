"""The load generator does not send on a kept-alive connection the server has closed as idle.

Gunicorn closes a connection idle for its `keepalive` seconds. An open-loop run keeps connections
it no longer needs in its pool; sending on one the server closed fails before the server reads
the request (in a relay run at 100/s: two webhooks never delivered, counted as callbacks
missing). Clients drop such connections themselves, before the server's limit.
"""

from __future__ import annotations

import asyncio

from bench import load
from bench.env import HOST

SERVER_KEEPALIVE = 0.2


async def _server(answered: list[int], connections: list[int]):
    """HTTP/1.1 on loopback that answers 204 and closes a connection idle for SERVER_KEEPALIVE."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                try:
                    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), SERVER_KEEPALIVE)
                except (TimeoutError, asyncio.IncompleteReadError, asyncio.CancelledError):
                    return  # idle, closed by the client, or the test is over
                answered.append(1)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, HOST, 0)


def _run(rate: float, duration: float, **options) -> tuple[load.Result, int, int]:
    async def main():
        answered: list[int] = []
        connections: list[int] = []
        server = await _server(answered, connections)
        port = server.sockets[0].getsockname()[1]
        try:
            result = await load.open_loop(
                port, lambda i: load.build("GET", "/", port), rate=rate, duration=duration, **options
            )
        finally:
            server.close()
            await server.wait_closed()
        return result, len(answered), len(connections)

    return asyncio.run(main())


def test_open_loop_drops_connections_the_server_closed_as_idle():
    # four requests 0.4 s apart: each finds the connection of the one before idle too long
    result, answered, _ = _run(2.5, 1.6, idle_limit=SERVER_KEEPALIVE / 2)
    assert dict(result.errors) == {}
    assert result.ok == answered == 4


def test_the_test_server_closes_idle_connections_as_gunicorn_does():
    """Without a limit below the server's, the same run sends on closed connections."""
    result, _, _ = _run(2.5, 1.6, idle_limit=10)
    assert result.errors and result.ok < 4


def test_connections_are_kept_alive_within_the_limit():
    # ten requests 50 ms apart, each free to reuse the last one's connection (idle 50 ms < 150 ms);
    # one answered later than the next request is due takes a second connection, so not "one"
    result, answered, connections = _run(20, 0.5, idle_limit=SERVER_KEEPALIVE * 0.75)
    assert result.ok == answered == 10
    assert connections <= answered // 2
