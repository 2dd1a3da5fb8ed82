"""The connection page's "For bot developers" panel: a signed test event showing the bot's answer,
and the deliveries that gave up, reached through the callback log (tenant-scoped, with its retry)."""

import json
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from standardwebhooks import Webhook

from connections.admin import developer
from connections.models import CallbackSecret, CallbackSignature, Connection, ConnectionStatus
from conversations.models import DeliveryStatus, EscalationEvent
from core.models import AuditLogEntry
from tests.botkit.test_signature_schemes import readme_verifier
from tests.callbacks.conftest import emit_n, make_escalation
from tests.factories import HubSpotAppFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(tenant_a):
    app = HubSpotAppFactory(tenant=tenant_a)
    connection = Connection.objects.create(
        tenant=tenant_a, app=app, portal_id=77, status=ConnectionStatus.ACTIVE, name="Acme bot"
    )
    _, secret = CallbackSecret.issue(connection)
    connection.plain_secret = secret
    return connection


def send(client, connection, url):
    action = reverse("admin:connections_connection_action", args=[connection.pk, "send-test-event"])
    response = client.post(action, {"url": url})
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def test_test_event_is_a_signed_ping_and_the_bots_answer_is_shown(client, admin_a, own, receiver):
    client.force_login(admin_a)

    response, shown = send(client, own, receiver.url)

    assert response.status_code == 302 and response["Location"].endswith("#developer")
    (request,) = receiver.received
    assert readme_verifier(request.headers["X-HITL-Signature"], request.body, own.plain_secret)
    body = json.loads(request.body)
    assert body["type"] == "ping" and body["data"]["connection_id"] == own.pk
    assert request.headers["X-HITL-Event-Type"] == "ping"
    (message,) = shown
    assert "HTTP 200" in message and '{"ok": true}' in message
    entry = AuditLogEntry.objects.get(action="connection.test_event")
    assert entry.tenant_id == own.tenant_id and entry.outcome == "success"


def test_test_event_in_the_standard_webhooks_scheme(client, admin_a, own, receiver):
    own.callback_signature = CallbackSignature.STANDARD
    own.save()
    client.force_login(admin_a)

    send(client, own, receiver.url)

    (request,) = receiver.received
    assert Webhook(own.plain_secret).verify(request.body, request.headers)["type"] == "ping"


def test_a_failing_bot_answer_is_shown_redacted(client, admin_a, own, receiver):
    receiver.respond = lambda envelope, seen: 500
    client.force_login(admin_a)

    _, shown = send(client, own, receiver.url + "?token=bot-own-token")

    (message,) = shown
    assert "HTTP 500" in message and "bot down" in message
    assert "s3cr3t-tok" not in message and "bot-own-token" not in message
    assert AuditLogEntry.objects.get(action="connection.test_event").outcome == "failure"


def test_a_private_address_is_refused_without_a_request(client, admin_a, own, receiver, settings):
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = False
    client.force_login(admin_a)

    _, shown = send(client, own, receiver.url)

    assert receiver.received == []
    assert "refused" in shown[0]


def test_another_tenants_admin_cannot_send(client, admin_b, own, receiver):
    client.force_login(admin_b)
    response, _ = send(client, own, receiver.url)
    assert response.status_code in (403, 404)
    assert receiver.received == []


def test_failed_deliveries_are_counted_and_listed_for_this_connection_only(client, admin_a, own, receiver):
    escalation = make_escalation(own, receiver.url)
    failed, _pending = emit_n(escalation, 2)
    EscalationEvent.objects.filter(pk=failed.pk).update(delivery_status=DeliveryStatus.FAILED)
    other = Connection.objects.create(tenant=own.tenant, app=own.app, portal_id=78, name="Other bot")
    (foreign,) = emit_n(make_escalation(other, receiver.url, conversation_id="c2"), 1)
    EscalationEvent.objects.filter(pk=foreign.pk).update(delivery_status=DeliveryStatus.FAILED)

    panel = developer.panel(own)
    assert (panel["failed"], panel["pending"]) == (1, 1)

    client.force_login(admin_a)
    page = client.get(panel["failed_url"])
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [failed]

    # Replay, with the callback log's own action, from that filtered list.
    client.post(panel["failed_url"], {"action": "retry_deliveries", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.delivery_status == DeliveryStatus.PENDING  # queued again, due now
    assert AuditLogEntry.objects.filter(action="callbacks.retry", tenant=own.tenant).exists()


def test_the_connection_page_offers_the_scheme_the_test_event_and_the_failed_link(client, admin_a, own):
    client.force_login(admin_a)
    url = reverse("admin:connections_connection_change", args=[own.pk])
    with mock.patch("connections.inboxes.available_inboxes", return_value=[]):
        page = client.get(url).text
        assert 'name="callback_signature"' in page and 'value="standard"' in page
        assert 'id="send-test-event-button"' in page and 'id="signature-scheme"' in page

        response = client.post(url, {"name": own.name, "callback_signature": "standard"})

    assert response.status_code == 302, response.content[:2000]
    own.refresh_from_db()
    assert own.callback_signature == CallbackSignature.STANDARD
    assert AuditLogEntry.objects.filter(
        action="connection.update", details__fields=["callback_signature"]
    ).exists()
