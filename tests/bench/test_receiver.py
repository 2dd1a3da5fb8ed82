"""The bench's bot verifies callbacks the way the portal signs them (else the relay figures
would count callbacks a real bot refuses)."""

import time

from bench.receiver import signature_ok
from conversations.callbacks import signature_header

BODY = b'{"type":"escalation.message","sequence":3}'


def test_accepts_the_portals_signature_and_either_secret_while_rotating():
    assert signature_ok(signature_header(["s3cret"], BODY), BODY, "s3cret")
    rotating = signature_header(["new-secret", "old-secret"], BODY)
    assert signature_ok(rotating, BODY, "old-secret")
    assert signature_ok(rotating, BODY, "new-secret")


def test_refuses_another_secret_a_changed_body_and_a_stale_timestamp():
    header = signature_header(["s3cret"], BODY)
    assert not signature_ok(header, BODY, "other")
    assert not signature_ok(header, BODY + b" ", "s3cret")
    stale = signature_header(["s3cret"], BODY, timestamp=int(time.time()) - 301)
    assert not signature_ok(stale, BODY, "s3cret")
    assert not signature_ok("", BODY, "s3cret")


def test_stopping_ends_kept_alive_connections_instead_of_leaving_them_to_be_cancelled():
    import asyncio

    from bench.receiver import Receiver

    handlers = []

    async def scenario():
        receiver = Receiver(0, "s3cret", lambda *_: None)
        receiver.server = await asyncio.start_server(receiver._serve, "127.0.0.1", 0)
        port = receiver.server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)  # kept alive, never sends
        while not (others := asyncio.all_tasks() - {asyncio.current_task()}):
            await asyncio.sleep(0.01)
        handlers.extend(others)
        await receiver.stop()
        writer.close()

    asyncio.run(scenario())
    assert handlers and all(task.done() and not task.cancelled() for task in handlers)
