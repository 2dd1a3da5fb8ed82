"""Done-when of issue 15: after the escalation round trip with a real Celery worker, one scrape of
/metrics shows webhooks, callbacks, escalations and HubSpot calls counted by the web process (the
live server) and the worker process together (prometheus_client's multiprocess mode)."""

import os
from pathlib import Path

import pytest

from conversations.models import BotApiRequest, EscalationEvent, WebhookReceipt
from core import metrics
from tests.e2e import flow
from tests.observability.scrape import scrape, total

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

TOKEN = "metrics-token-for-tests"


def test_one_scrape_adds_up_web_and_worker_after_the_round_trip(
    live_server, provisioned, bot, e2e_settings, e2e_worker
):
    e2e_settings.METRICS_TOKEN = TOKEN
    before = scrape(live_server.url, TOKEN)
    own_callbacks_before = metrics.CALLBACK_ATTEMPTS.labels("delivered")._value.get()

    flow.run(live_server.url, provisioned, bot, flow.Realism(name="metrics"), sweep=False)
    after = scrape(live_server.url, TOKEN)

    def grew(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    # The web process received HubSpot's webhooks; the worker processed them and called the bot.
    assert grew("hitl_webhook_requests_total", outcome="accepted") >= 4
    assert grew("hitl_webhook_events_stored_total") >= 4
    assert grew("hitl_webhook_processing_lag_seconds_count") >= 4
    assert grew("hitl_callback_attempts_total", outcome="delivered") >= 4
    assert grew("hitl_callback_delivery_latency_seconds_count") >= 4
    assert grew("hitl_escalations_started_total") == 1
    assert grew("hitl_escalation_time_to_assign_seconds_count") == 1
    assert grew("hitl_escalation_time_to_close_seconds_count") == 1
    assert grew("hitl_hubspot_calls_total", family="messages", status="201") >= 1
    assert grew("hitl_hubspot_calls_total") >= 5
    # This (web) process delivered no callback itself: the worker's counts are in the scrape.
    assert metrics.CALLBACK_ATTEMPTS.labels("delivered")._value.get() == own_callbacks_before
    files = list(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("counter_*.db"))
    assert len({f.stem.rsplit("_", 1)[-1] for f in files}) >= 2, files
    # Gauges read at scrape time: nothing left open or pending.
    assert total(after, "hitl_escalations_active") == 0
    assert total(after, "hitl_callbacks_pending") == 0
    assert ("hitl_celery_queue_depth", (("queue", e2e_settings.CELERY_TASK_DEFAULT_QUEUE),)) in after
    assert total(after, "hitl_ready", check="database") == 1

    # One id follows each message: the webhook request's id, carried into the worker's task,
    # is on the event it caused (the id the bot receives as X-Request-ID).
    receipts = set(WebhookReceipt.objects.values_list("request_id", flat=True))
    started = set(BotApiRequest.objects.values_list("request_id", flat=True))
    events = list(EscalationEvent.objects.order_by("sequence"))
    assert len(events) == 4 and all(event.request_id for event in events)
    message = next(e for e in events if e.type == "escalation.message")
    assert message.request_id in receipts
    assert all(event.request_id in receipts | started for event in events)
