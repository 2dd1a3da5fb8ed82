"""The webhook event log: raw receipts and events, what shows (and never shows), search and
filters, and the "reprocess" action: what it does per status, that it never duplicates a bot
event, and that only admins can run it."""

import json

import pytest

from conversations.models import EscalationEvent, EscalationStatus, HubSpotEvent, WebhookReceipt
from core.models import AuditLogEntry
from tenants.models import Role
from tests.console_logs.conftest import change_url, changelist_url, messages_of, run_action
from tests.factories import (
    EscalationFactory,
    HubSpotEventFactory,
    MembershipFactory,
    UserFactory,
    WebhookReceiptFactory,
)
from tests.webhooks.conftest import cache_actor
from tests.webhooks.helpers import deliver, encode, path_of, signed_headers, webhook_url

pytestmark = pytest.mark.django_db


def assigned(thread_id=9001, actor="A-1002", event_id=1, portal=20260301):
    return {
        "eventId": event_id,
        "subscriptionId": 103,
        "portalId": portal,
        "occurredAt": 1772366401000,
        "subscriptionType": "conversation.propertyChange",
        "attemptNumber": 0,
        "objectId": thread_id,
        "propertyName": "assignedTo",
        "propertyValue": actor,
    }


@pytest.fixture
def send(client, conn_a, django_capture_on_commit_callbacks):
    """Deliver a HubSpot-signed app webhook for tenant A's app; processing runs (eagerly)."""

    def send(payload):
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, conn_a.app, "app", payload)
        assert response.status_code == 200, response.content
        client.logout()  # the webhook request leaves no session; tests log in as they need

    return send


@pytest.fixture
def assigned_once(send, conn_a):
    escalation = EscalationFactory(connection=conn_a, hubspot_thread_id="9001", status=EscalationStatus.OPEN)
    cache_actor(conn_a, "A-1002", "Bob Support", "bob@example.com")
    send([assigned()])
    event = HubSpotEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    assert EscalationEvent.objects.filter(escalation=escalation).count() == 1
    return escalation, event


def reprocess(client, user, events, capture):
    client.force_login(user)
    return run_action(client, HubSpotEvent, "reprocess_events", events, capture)


# -- reprocess ------------------------------------------------------------------------------------


def test_reprocessing_a_processed_event_is_a_no_op(
    client, admin_a, assigned_once, django_capture_on_commit_callbacks
):
    escalation, event = assigned_once
    response = reprocess(client, admin_a, [event], django_capture_on_commit_callbacks)
    assert messages_of(response) == [
        "1 already processed event(s) left as they are: their changes are applied, "
        "running them again would change nothing."
    ]
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    assert EscalationEvent.objects.filter(escalation=escalation).count() == 1


def test_reprocessing_a_failed_event_whose_effects_were_applied_adds_no_bot_event(
    client, admin_a, assigned_once, django_capture_on_commit_callbacks
):
    # A failure after the lifecycle applied the change (say, the worker died while recording it).
    escalation, event = assigned_once
    HubSpotEvent.objects.filter(pk=event.pk).update(status="failed", result="WorkerLost")
    WebhookReceipt.objects.update(status="failed")
    response = reprocess(client, admin_a, [event], django_capture_on_commit_callbacks)
    assert messages_of(response) == ["Queued 1 event(s) for processing again (1 failed)."]
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 2)  # it really ran again
    assert "changed nothing" in event.result
    assert [e.type for e in EscalationEvent.objects.filter(escalation=escalation)] == ["escalation.assigned"]
    assert WebhookReceipt.objects.get().status == "processed"
    entry = AuditLogEntry.objects.get(action="hubspot_events.reprocess")
    assert (entry.actor, entry.tenant.slug, entry.details) == (admin_a, "acme", {"ids": [str(event.pk)]})


def test_reprocessing_an_ignored_event_applies_it_once_its_cause_is_fixed(
    client, admin_a, send, conn_a, django_capture_on_commit_callbacks
):
    # The webhook came before the escalation knew its thread: "not an escalation thread".
    escalation = EscalationFactory(connection=conn_a, hubspot_thread_id="", status=EscalationStatus.OPEN)
    cache_actor(conn_a, "A-1002", "Bob Support")
    send([assigned()])
    event = HubSpotEvent.objects.get()
    assert (event.status, event.result) == ("ignored", "not an escalation thread")
    escalation.hubspot_thread_id = "9001"
    escalation.save(update_fields=["hubspot_thread_id"])

    response = reprocess(client, admin_a, [event], django_capture_on_commit_callbacks)
    assert messages_of(response) == ["Queued 1 event(s) for processing again (1 ignored)."]
    event.refresh_from_db()
    escalation.refresh_from_db()
    assert (event.status, event.escalation_id, escalation.status) == ("processed", escalation.pk, "assigned")
    assert EscalationEvent.objects.filter(escalation=escalation).count() == 1

    reprocess(client, admin_a, [event], django_capture_on_commit_callbacks)  # and again: nothing new
    assert EscalationEvent.objects.filter(escalation=escalation).count() == 1


def test_mixed_selection_reports_each_part(
    client, superuser, assigned_once, conn_a, django_capture_on_commit_callbacks
):
    _, processed = assigned_once
    failed = HubSpotEventFactory(app=conn_a.app, status="failed", event_type="conversation.merge")
    ignored = HubSpotEventFactory(app=conn_a.app, status="ignored", event_type="conversation.restore")
    stuck = HubSpotEventFactory(app=conn_a.app, status="pending", event_type="conversation.privacyDeletion")
    selection = [processed, failed, ignored, stuck]
    response = reprocess(client, superuser, selection, django_capture_on_commit_callbacks)
    assert messages_of(response) == [
        "Queued 3 event(s) for processing again (1 failed, 1 ignored, 1 pending). "
        "1 already processed event(s) left as they are: their changes are applied, "
        "running them again would change nothing."
    ]
    for event in selection:
        event.refresh_from_db()
    assert stuck.status == "ignored" and stuck.attempts == 1
    # both ran through the dispatch table again (known types HubSpot sends that we do not relay)
    assert (failed.status, failed.attempts) == ("ignored", 1)
    assert failed.result == "merged threads are not relayed"
    assert (ignored.status, ignored.attempts) == ("ignored", 1)


def test_support_lead_gets_no_action_and_a_posted_one_changes_nothing(
    client, lead_a, assigned_once, django_capture_on_commit_callbacks
):
    escalation, event = assigned_once
    HubSpotEvent.objects.filter(pk=event.pk).update(status="failed", result="boom")
    client.force_login(lead_a)
    page = client.get(changelist_url(HubSpotEvent))
    assert page.status_code == 200 and "boom" in page.text
    assert 'name="action"' not in page.text and "Reprocess" not in page.text
    response = reprocess(client, lead_a, [event], django_capture_on_commit_callbacks)
    assert response.status_code == 200
    event.refresh_from_db()
    assert (event.status, event.result, event.attempts) == ("failed", "boom", 1)
    assert EscalationEvent.objects.filter(escalation=escalation).count() == 1
    assert not AuditLogEntry.objects.exists()


def test_other_tenants_admin_cannot_reprocess_by_post(
    client, admin_b, assigned_once, django_capture_on_commit_callbacks
):
    _, event = assigned_once
    HubSpotEvent.objects.filter(pk=event.pk).update(status="failed", result="boom")
    reprocess(client, admin_b, [event], django_capture_on_commit_callbacks)
    event.refresh_from_db()
    assert (event.status, event.result, event.attempts) == ("failed", "boom", 1)


def test_admin_elsewhere_and_lead_here_cannot_act_here(
    client, tenant_a, tenant_b, assigned_once, django_capture_on_commit_callbacks
):
    user = UserFactory(username="twohats")
    MembershipFactory(tenant=tenant_a, user=user, role=Role.SUPPORT_LEAD)
    MembershipFactory(tenant=tenant_b, user=user, role=Role.ADMIN)
    _, event = assigned_once
    HubSpotEvent.objects.filter(pk=event.pk).update(status="failed", result="boom")
    response = reprocess(client, user, [event], django_capture_on_commit_callbacks)
    assert "1 event(s) of organisations you do not administer were left alone." in messages_of(response)
    event.refresh_from_db()
    assert (event.status, event.result) == ("failed", "boom")


# -- what the pages show --------------------------------------------------------------------------


def test_receipt_page_hides_signature_and_credential_headers(
    client, admin_a, conn_a, django_capture_on_commit_callbacks
):
    app = conn_a.app
    url = webhook_url(app, "app")
    body = encode([assigned(thread_id=4444) | {"note": "<script>alert(1)</script>"}])
    headers = signed_headers(app.client_secret, url, body) | {
        "Authorization": "Bearer leaked-bearer-token",
        "Cookie": "sessionid=leaked-session",
        "X-Api-Key": "leaked-api-key",
        "X-Forwarded-For": "198.51.100.9",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path_of(url), data=body, content_type="application/json", headers=headers)
    assert response.status_code == 200
    receipt = WebhookReceipt.objects.get()
    assert "X-Hubspot-Signature-V3" in receipt.headers  # storage keeps it: the page must not show it

    client.force_login(admin_a)
    html = client.get(change_url(receipt)).text
    assert headers["X-HubSpot-Signature-v3"] not in html
    for leaked in ("leaked-bearer-token", "leaked-session", "leaked-api-key", str(app.client_secret)):
        assert leaked not in html
    assert "X-Hubspot-Signature-V3</th><td><code>(hidden)</code>" in html
    assert "X-Forwarded-For</th><td><code>198.51.100.9</code>" in html
    # the raw body, pretty-printed and escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "\n    &quot;eventId&quot;: 1,\n" in html


def test_any_header_that_looks_like_a_secret_is_hidden(client, admin_a, conn_a):
    receipt = WebhookReceiptFactory(
        app=conn_a.app,
        headers={
            "X-Custom-Token": "tok-123",
            "X-Shared-Secret": "sec-456",
            "X-Signature": "sig-789",
            "Accept": "*/*",
        },
    )
    client.force_login(admin_a)
    html = client.get(change_url(receipt)).text
    assert not {"tok-123", "sec-456", "sig-789"} & set(html.split("<code>"))
    for value in ("tok-123", "sec-456", "sig-789"):
        assert value not in html
    assert "Accept</th><td><code>*/*</code>" in html


def test_event_page_shows_payload_escalation_and_receipt(client, lead_a, assigned_once):
    escalation, event = assigned_once
    escalation.refresh_from_db()
    client.force_login(lead_a)
    html = client.get(change_url(event)).text
    assert json.dumps(event.payload, indent=2).replace('"', "&quot;") in html
    assert "assigned to A-1002" in html
    assert change_url(event.receipt) in html
    assert str(escalation) in html


def test_receipt_list_shows_the_columns(client, lead_a, assigned_once):
    client.force_login(lead_a)
    html = client.get(changelist_url(WebhookReceipt)).text
    receipt = WebhookReceipt.objects.get()
    for column in ("Received at", "App", "Kind", "Events", "Status", "Exception"):
        assert column in html
    assert receipt.app.name in html
    # The sender's address: on the receipt's page (the list keeps to what fits at 1280 px).
    assert "127.0.0.1" in client.get(change_url(receipt)).text


# -- search and filters ---------------------------------------------------------------------------


@pytest.fixture
def events_ab(conn_a, conn_b):
    a1 = HubSpotEventFactory(
        app=conn_a.app, connection=conn_a, dedupe_key="event:555", object_id="9001", portal_id=111
    )
    a2 = HubSpotEventFactory(
        app=conn_a.app,
        connection=conn_a,
        dedupe_key="message:abc-1",
        object_id="9002",
        portal_id=222,
        status="failed",
        event_type="OUTGOING_CHANNEL_MESSAGE_CREATED",
    )
    a3 = HubSpotEventFactory(
        app=conn_a.app, dedupe_key="event:556", object_id="9003", status="pending", portal_id=111
    )
    b1 = HubSpotEventFactory(
        app=conn_b.app, connection=conn_b, dedupe_key="event:555", object_id="9001", portal_id=111
    )
    return a1, a2, a3, b1


def listed(client, params=None) -> set[int]:
    response = client.get(changelist_url(HubSpotEvent), params or {})
    assert response.status_code == 200, response.content[:500]
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("9001", {0}),
        ("555", {0}),
        ("event:555", {0}),
        ("abc-1", {1}),
        ("message:abc-1", {1}),
        ("111", {0, 2}),
        ("nothing", set()),
        ("12345678901234567890123", set()),
    ],
)
def test_search(client, admin_a, events_ab, term, expected):
    client.force_login(admin_a)
    assert listed(client, {"q": term}) == {events_ab[i].pk for i in expected}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "attention"}, {1, 2}),
        ({"status": "failed"}, {1}),
        ({"event_type": "OUTGOING_CHANNEL_MESSAGE_CREATED"}, {1}),
        ({}, {0, 1, 2}),
    ],
)
def test_event_filters(client, admin_a, events_ab, params, expected):
    client.force_login(admin_a)
    assert listed(client, params) == {events_ab[i].pk for i in expected}


def test_connection_filter_offers_only_own_connections(client, admin_a, events_ab, conn_a, conn_b):
    client.force_login(admin_a)
    html = client.get(changelist_url(HubSpotEvent)).text
    assert f"connection__id__exact={conn_a.pk}" in html and "Acme portal" in html
    assert f"connection__id__exact={conn_b.pk}" not in html and "Globex portal" not in html
    assert listed(client, {"connection__id__exact": conn_a.pk}) == {events_ab[0].pk, events_ab[1].pk}


def test_receipt_filters(client, admin_a, conn_a, conn_b):
    ok = WebhookReceiptFactory(app=conn_a.app, kind="app", status="processed")
    bad = WebhookReceiptFactory(app=conn_a.app, kind="channel", status="failed", exception="ValueError: x")
    WebhookReceiptFactory(app=conn_b.app)
    client.force_login(admin_a)

    def pks(params):
        return {o.pk for o in client.get(changelist_url(WebhookReceipt), params).context["cl"].result_list}

    assert pks({}) == {ok.pk, bad.pk}
    assert pks({"status__exact": "failed"}) == {bad.pk}
    assert pks({"kind__exact": "app"}) == {ok.pk}
    assert pks({"app__id__exact": conn_a.app.pk}) == {ok.pk, bad.pk}
    assert pks({"q": "203.0.113.7"}) == {ok.pk, bad.pk} and pks({"q": "not-an-ip"}) == set()
    html = client.get(changelist_url(WebhookReceipt)).text
    assert conn_b.app.name not in html and "ValueError: x" in html
    # a receipt whose event failed shows that event's error
    HubSpotEventFactory(app=conn_a.app, receipt=ok, status="failed", result="HubSpot refused: 404 no thread")
    assert "HubSpot refused: 404 no thread" in client.get(changelist_url(WebhookReceipt)).text


def test_escalation_status_is_unchanged_by_viewing(client, lead_a, assigned_once):
    escalation, _ = assigned_once
    client.force_login(lead_a)
    client.get(changelist_url(HubSpotEvent))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.ASSIGNED
