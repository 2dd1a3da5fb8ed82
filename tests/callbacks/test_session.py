"""Callbacks share one kept-alive HTTP session per worker thread: connections are reused, cookies
never (a bot's cookies must not reach another bot, nor come back to it)."""

from __future__ import annotations

import threading

import pytest

from conversations import callbacks, delivery
from conversations.models import CallbackAttempt
from tests.callbacks.conftest import emit_n
from tests.factories import EscalationFactory
from tests.http_receiver import HTTPReceiver, Reply

pytestmark = pytest.mark.usefixtures("secret")


COOKIES = [("Set-Cookie", "session=bot-private; Path=/"), ("Set-Cookie", "wide=1; Domain=127.0.0.1; Path=/")]


@pytest.fixture
def bots():
    """`bots(body=...)`: an HTTP/1.1 bot that keeps connections open and sets cookies on every
    answer; `bot.seen` is, per request, the client's port (one TCP connection = one port) and the
    Cookie header it got."""
    made: list[HTTPReceiver] = []

    def make(body: bytes = b'{"ok": true}') -> HTTPReceiver:
        bot = HTTPReceiver(lambda request: Reply(body=body, headers=COOKIES), keep_alive=True).start()
        made.append(bot)
        return bot

    yield make
    for bot in made:
        bot.stop()


def seen(bot) -> list[tuple[int, str | None]]:
    return [(r.client_port, r.headers.get("Cookie")) for r in bot.requests]


def test_a_bots_cookies_never_reach_another_bot_nor_itself(connection, bots):
    # given two bots on the same host (cookies are per host, not per port), both setting cookies
    bot_a, bot_b = bots(), bots()
    esc_a = EscalationFactory(
        connection=connection, callback_url=bot_a.url("/hitl/events"), conversation_id="a"
    )
    esc_b = EscalationFactory(
        connection=connection, callback_url=bot_b.url("/hitl/events"), conversation_id="b"
    )
    emit_n(esc_a, 2)
    emit_n(esc_b, 2)
    # when both get their callbacks through the worker's shared session, interleaved
    delivery.deliver_pending(esc_a.pk)
    delivery.deliver_pending(esc_b.pk)
    delivery.deliver_pending(esc_a.pk)
    # then no request carried a cookie, and the shared jar holds none
    assert [cookie for _, cookie in seen(bot_a) + seen(bot_b)] == [None] * 4
    assert len(callbacks.http_session().cookies) == 0


def test_callbacks_to_one_bot_reuse_a_connection(connection, bots):
    bot = bots()
    escalation = EscalationFactory(connection=connection, callback_url=bot.url("/hitl/events"))
    emit_n(escalation, 3)
    run = delivery.deliver_pending(escalation.pk)
    assert run.delivered == [1, 2, 3]
    assert len({port for port, _ in seen(bot)}) == 1


def test_a_large_answer_is_read_bounded_and_its_connection_dropped(connection, bots):
    bot = bots(body=b"x" * (callbacks.EXCERPT_BYTES * 10))
    escalation = EscalationFactory(connection=connection, callback_url=bot.url("/hitl/events"))
    emit_n(escalation, 2)
    run = delivery.deliver_pending(escalation.pk)
    assert run.delivered == [1, 2]
    excerpts = CallbackAttempt.objects.values_list("response_excerpt", flat=True)
    assert all(len(e) <= callbacks.EXCERPT_CHARS for e in excerpts)
    # the unread rest is not drained into the next request: a fresh connection each time
    assert len({port for port, _ in seen(bot)}) == 2


def test_each_thread_and_process_has_its_own_session():
    mine = callbacks.http_session()
    assert callbacks.http_session() is mine
    other: list = []
    thread = threading.Thread(target=lambda: other.append(callbacks.http_session()))
    thread.start()
    thread.join()
    assert other[0] is not mine
