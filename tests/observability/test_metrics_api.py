"""Escalation starts and refusals, counted by the bot API over real HTTP (live server, sandbox)."""

import pytest

from tests.api.conftest import BotClient, start_body
from tests.observability.scrape import scrape, total

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "t0ken-for-scrapes"


def test_starts_and_refusals_by_reason(live_server, provisioned, e2e_settings):
    e2e_settings.METRICS_TOKEN = TOKEN
    bot = BotClient(live_server.url, provisioned["bot_api_key"])
    before = scrape(live_server.url, TOKEN)

    assert bot.post("escalations/", start_body()).status_code == 201
    assert bot.post("escalations/", start_body()).status_code == 200  # the same conversation: no new start
    unknown = start_body(conversation_id="c2", user={"name": "Nobody", "phone": "+1 415 555 0199"})
    assert bot.post("escalations/", unknown).status_code == 422
    assert bot.post("escalations/", {"title": ""}).status_code == 400
    assert BotClient(live_server.url, "hitl_wrong").post("escalations/", start_body()).status_code == 401

    after = scrape(live_server.url, TOKEN)

    def grew(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("hitl_escalations_started_total") == 1
    assert grew("hitl_escalations_refused_total", reason="contact_not_found") == 1
    assert grew("hitl_escalations_refused_total", reason="invalid_request") == 1
    assert grew("hitl_escalations_refused_total", reason="unauthorized") == 1
    assert grew("hitl_hubspot_calls_total", family="contacts") >= 2
