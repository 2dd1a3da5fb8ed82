"""Callbacks share one kept-alive HTTP session per worker thread: connections are reused, cookies
never (a bot's cookies must not reach another bot, nor come back to it)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conversations import callbacks, delivery
from conversations.models import CallbackAttempt
from tests.callbacks.conftest import emit_n
from tests.factories import EscalationFactory

pytestmark = pytest.mark.usefixtures("secret")


class KeepAliveBot:
    """An HTTP/1.1 bot that keeps connections open, sets a cookie on every answer and records, per
    request, the client's port (one TCP connection = one port) and the Cookie header it got."""

    def __init__(self, body: bytes = b'{"ok": true}'):
        self.seen: list[tuple[int, str | None]] = []
        bot = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                bot.seen.append((self.client_address[1], self.headers.get("Cookie")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Set-Cookie", "session=bot-private; Path=/")
                self.send_header("Set-Cookie", "wide=1; Domain=127.0.0.1; Path=/")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hitl/events"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bots():
    made: list[KeepAliveBot] = []

    def make(**kwargs) -> KeepAliveBot:
        made.append(KeepAliveBot(**kwargs))
        return made[-1]

    yield make
    for bot in made:
        bot.close()


def test_a_bots_cookies_never_reach_another_bot_nor_itself(connection, bots):
    # given two bots on the same host (cookies are per host, not per port), both setting cookies
    bot_a, bot_b = bots(), bots()
    esc_a = EscalationFactory(connection=connection, callback_url=bot_a.url, conversation_id="a")
    esc_b = EscalationFactory(connection=connection, callback_url=bot_b.url, conversation_id="b")
    emit_n(esc_a, 2)
    emit_n(esc_b, 2)
    # when both get their callbacks through the worker's shared session, interleaved
    delivery.deliver_pending(esc_a.pk)
    delivery.deliver_pending(esc_b.pk)
    delivery.deliver_pending(esc_a.pk)
    # then no request carried a cookie, and the shared jar holds none
    assert [cookie for _, cookie in bot_a.seen + bot_b.seen] == [None] * 4
    assert len(callbacks.http_session().cookies) == 0


def test_callbacks_to_one_bot_reuse_a_connection(connection, bots):
    bot = bots()
    escalation = EscalationFactory(connection=connection, callback_url=bot.url)
    emit_n(escalation, 3)
    run = delivery.deliver_pending(escalation.pk)
    assert run.delivered == [1, 2, 3]
    assert len({port for port, _ in bot.seen}) == 1


def test_a_large_answer_is_read_bounded_and_its_connection_dropped(connection, bots):
    bot = bots(body=b"x" * (callbacks.EXCERPT_BYTES * 10))
    escalation = EscalationFactory(connection=connection, callback_url=bot.url)
    emit_n(escalation, 2)
    run = delivery.deliver_pending(escalation.pk)
    assert run.delivered == [1, 2]
    excerpts = CallbackAttempt.objects.values_list("response_excerpt", flat=True)
    assert all(len(e) <= callbacks.EXCERPT_CHARS for e in excerpts)
    # the unread rest is not drained into the next request: a fresh connection each time
    assert len({port for port, _ in bot.seen}) == 2


def test_each_thread_and_process_has_its_own_session():
    mine = callbacks.http_session()
    assert callbacks.http_session() is mine
    other: list = []
    thread = threading.Thread(target=lambda: other.append(callbacks.http_session()))
    thread.start()
    thread.join()
    assert other[0] is not mine
