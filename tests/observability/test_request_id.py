"""One request id per request: accepted or made, answered back, on every log line, carried into the
tasks the request queues, stored on what it caused (timeline), and sent to the bot with the callback."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory

from conversations import timeline
from conversations.models import BotApiRequest, Escalation, EscalationEvent
from core import request_id
from core.logging import JsonFormatter
from tests.api.conftest import BotClient, start_body

UUID_HEX = re.compile(r"[0-9a-f]{32}")


def through_middleware(headers: dict) -> tuple[HttpResponse, list[logging.LogRecord]]:
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(request_id.RequestIdFilter())
    logger = logging.getLogger("tests.request_id")
    logger.addHandler(handler)
    try:

        def view(request):
            logger.warning("inside the view")
            return HttpResponse("ok")

        response = request_id.RequestIdMiddleware(view)(RequestFactory().get("/x", headers=headers))
    finally:
        logger.removeHandler(handler)
    return response, records


def test_a_request_without_an_id_gets_a_new_one_in_the_answer_and_the_logs():
    response, (record,) = through_middleware({})
    assert UUID_HEX.fullmatch(response["X-Request-ID"])
    assert record.request_id == response["X-Request-ID"]
    assert request_id.current() == ""  # not left behind for the next request of the thread


def test_a_sane_client_id_is_kept():
    response, (record,) = through_middleware({"X-Request-ID": "lb-7f3a:2026.03_01-x"})
    assert response["X-Request-ID"] == record.request_id == "lb-7f3a:2026.03_01-x"


@pytest.mark.parametrize("hostile", ["<script>", "two words", "x" * 201, "a\tb", "ünïcode"])
def test_an_unsafe_client_id_is_replaced(hostile):
    response, _ = through_middleware({"X-Request-ID": hostile})
    assert UUID_HEX.fullmatch(response["X-Request-ID"])


def test_log_formats_carry_it():
    record = logging.makeLogRecord({"msg": "hello", "name": "x", "levelname": "INFO"})
    request_id.RequestIdFilter().filter(record)
    assert record.request_id == "-"
    text = logging.Formatter(django_settings.LOGGING["formatters"]["text"]["format"])
    token = request_id._current.set("req-42")
    try:
        record = logging.makeLogRecord({"msg": "hello", "name": "x", "levelname": "INFO"})
        request_id.RequestIdFilter().filter(record)
    finally:
        request_id._current.reset(token)
    assert "[req-42] hello" in text.format(record)
    assert json.loads(JsonFormatter().format(record))["request_id"] == "req-42"


@pytest.mark.django_db(transaction=True)
def test_the_bots_request_id_reaches_the_timeline_and_the_callbacks(live_server, provisioned, receiver):
    bot = BotClient(live_server.url, provisioned["bot_api_key"])

    response = bot.post(
        "escalations/", start_body(callback_url=receiver.url), headers={"X-Request-ID": "bot-req-0042"}
    )

    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == "bot-req-0042"
    escalation = Escalation.objects.get(pk=response.json()["id"])
    opened = EscalationEvent.objects.get(escalation=escalation, type="escalation.opened")
    assert opened.request_id == "bot-req-0042"
    assert BotApiRequest.objects.get(escalation=escalation).request_id == "bot-req-0042"
    (callback,) = [r for r in receiver.received if r.json["type"] == "escalation.opened"]
    assert callback.headers["X-Request-ID"] == "bot-req-0042"
    entries = timeline.build(escalation, list(escalation.messages.all()))
    details = [line for entry in entries for line in entry.extra]
    assert details.count("request bot-req-0042") >= 2  # the bot's call and the event it caused
