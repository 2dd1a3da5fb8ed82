"""The two endpoints' security and HTTP contract, written once for both.

Requests are signed with HubSpot's own helper over PUBLIC_BASE_URL + path. Every refusal is
checked for its status, its message, and that nothing was stored or enqueued.
"""

import time
import uuid
from unittest import mock

import pytest
from django.test import Client

from conversations.models import HubSpotEvent, WebhookReceipt
from tests.webhooks.helpers import deliver, encode, load_fixture, path_of, signed_headers, webhook_url

PAYLOADS = {
    "app": "conversation.propertyChange__reopened",
    "channel": "CHANNEL_ACCOUNT_CREATED__account",
}

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["app", "channel"])
def kind(request):
    return request.param


@pytest.fixture
def enqueued():
    with mock.patch("conversations.webhooks.storage.enqueue_on_commit") as delay:
        yield delay


def nothing_stored():
    return not WebhookReceipt.objects.exists() and not HubSpotEvent.objects.exists()


def test_signed_request_through_a_csrf_enforcing_client_is_stored_and_enqueued(kind, platform_app, enqueued):
    client = Client(enforce_csrf_checks=True)
    response = deliver(client, platform_app, kind, load_fixture(PAYLOADS[kind]))
    assert response.status_code == 200, response.content
    assert response.json() == {"received": 1, "new": 1, "duplicates": 0}
    receipt = WebhookReceipt.objects.get()
    event = HubSpotEvent.objects.get()
    assert receipt.kind == kind and receipt.app == platform_app and receipt.remote_ip == "127.0.0.1"
    assert {"x-hubspot-signature-v3", "x-hubspot-request-timestamp"} <= {h.lower() for h in receipt.headers}
    assert receipt.body == encode(load_fixture(PAYLOADS[kind])).decode()
    assert event.receipt == receipt and event.status == "pending" and event.portal_id == 20260301
    enqueued.assert_called_once_with([event.pk])


def test_stored_headers_leave_credentials_out(platform_app, enqueued, client):
    body = encode(load_fixture(PAYLOADS["app"]))
    headers = signed_headers(platform_app.client_secret, webhook_url(platform_app, "app"), body)
    headers |= {"Authorization": "Bearer secret-token", "Cookie": "sessionid=abc"}
    assert deliver(client, platform_app, "app", body=body, headers=headers).status_code == 200
    stored = {k.lower() for k in WebhookReceipt.objects.get().headers}
    assert "authorization" not in stored and "cookie" not in stored
    assert "x-hubspot-request-timestamp" in stored


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: {}, "missing"),
        (lambda h: {"X-HubSpot-Request-Timestamp": h["X-HubSpot-Request-Timestamp"]}, "missing"),
        (lambda h: h | {"X-HubSpot-Signature-v3": "AAAA"}, "mismatch"),
        (lambda h: h | {"X-HubSpot-Signature-v3": h["X-HubSpot-Signature-v3"] + "x" * 300}, "mismatch"),
        (lambda h: h | {"X-HubSpot-Request-Timestamp": "soon"}, "malformed_timestamp"),
    ],
    ids=["no-headers", "no-signature", "wrong", "overlong", "bad-timestamp"],
)
def test_bad_or_missing_signature_is_401_and_nothing_is_stored(
    kind, platform_app, enqueued, client, mutate, reason
):
    body = encode(load_fixture(PAYLOADS[kind]))
    headers = mutate(signed_headers(platform_app.client_secret, webhook_url(platform_app, kind), body))
    response = deliver(client, platform_app, kind, body=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert nothing_stored() and not enqueued.called


@pytest.mark.parametrize(("offset_ms", "reason"), [(-6 * 60_000, "stale"), (10 * 60_000, "future")])
def test_stale_or_future_signature_is_401(kind, platform_app, enqueued, client, offset_ms, reason):
    body = encode(load_fixture(PAYLOADS[kind]))
    ts = int(time.time() * 1000) + offset_ms
    headers = signed_headers(platform_app.client_secret, webhook_url(platform_app, kind), body, ts=ts)
    response = deliver(client, platform_app, kind, body=body, headers=headers)
    assert response.status_code == 401 and response.json()["reason"] == reason
    assert nothing_stored() and not enqueued.called


def test_signed_with_another_apps_secret_is_401(kind, platform_app, enqueued, client):
    response = deliver(
        client, platform_app, kind, load_fixture(PAYLOADS[kind]), secret="someone-elses-secret"
    )
    assert response.status_code == 401 and response.json()["reason"] == "mismatch"
    assert nothing_stored()


def test_signature_covers_the_public_url_not_the_host_header(kind, platform_app, enqueued, client):
    body = encode(load_fixture(PAYLOADS[kind]))
    forged_url = "https://attacker.example" + path_of(webhook_url(platform_app, kind))
    headers = signed_headers(platform_app.client_secret, forged_url, body)
    response = client.post(
        path_of(webhook_url(platform_app, kind)),
        data=body,
        content_type="application/json",
        headers=headers,
        HTTP_HOST="attacker.example",
    )
    assert response.status_code == 401
    assert nothing_stored()


def test_malformed_json_is_400(kind, platform_app, enqueued, client):
    response = deliver(client, platform_app, kind, body=b'[{"eventId": 1,')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]
    assert nothing_stored() and not enqueued.called


WRONG_SHAPES = {
    "app": [
        ({"eventId": 1}, "non-empty JSON array"),
        ([], "non-empty JSON array"),
        ([{"eventId": 1, "portalId": 1}], "lacks subscriptionType"),
        (["x"], "not a JSON object"),
        (
            [{"eventId": 1, "subscriptionType": "conversation.creation", "portalId": "abc"}],
            "malformed portalId",
        ),
        (
            [{"eventId": 1, "subscriptionType": "conversation.creation", "portalId": 2**70}],
            "malformed portalId",
        ),
    ],
    "channel": [
        ([{"type": "CHANNEL_ACCOUNT_CREATED"}], "JSON object with a `type`"),
        ({"portalId": "1"}, "JSON object with a `type`"),
        ({"type": "OUTGOING_CHANNEL_MESSAGE_CREATED", "message": {}}, "needs message.id"),
    ],
}


def test_wrong_shape_is_400_naming_the_problem(kind, platform_app, enqueued, client):
    for payload, message in WRONG_SHAPES[kind]:
        response = deliver(client, platform_app, kind, payload)
        assert response.status_code == 400, payload
        assert message in str(response.json()), (payload, response.json())
    assert nothing_stored() and not enqueued.called


def test_more_than_100_app_events_is_400(platform_app, enqueued, client):
    event = load_fixture(PAYLOADS["app"])[0]
    response = deliver(client, platform_app, "app", [event | {"eventId": i} for i in range(101)])
    assert response.status_code == 400 and "At most 100 events" in response.json()["message"]
    assert nothing_stored()


def test_oversized_body_is_413_before_verification(kind, platform_app, enqueued, client, settings):
    settings.HITL_WEBHOOK_MAX_BODY_BYTES = 1000
    payload = load_fixture(PAYLOADS[kind])
    padded = (
        payload | {"pad": "x" * 2000} if isinstance(payload, dict) else [payload[0] | {"pad": "x" * 2000}]
    )
    response = deliver(client, platform_app, kind, padded)
    assert response.status_code == 413
    assert nothing_stored()


def test_unknown_token_is_404(kind, platform_app, enqueued, client):
    body = encode(load_fixture(PAYLOADS[kind]))
    path = f"/webhooks/hubspot/{uuid.uuid4()}/{kind}/"
    from django.conf import settings

    headers = signed_headers(platform_app.client_secret, settings.PUBLIC_BASE_URL + path, body)
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 404
    assert nothing_stored()


def test_head_answers_200_for_a_known_url_and_get_is_refused(kind, platform_app, client):
    path = path_of(webhook_url(platform_app, kind))
    assert client.head(path).status_code == 200
    assert client.head(f"/webhooks/hubspot/{uuid.uuid4()}/{kind}/").status_code == 404
    assert client.get(path).status_code in (401, 405)
    assert nothing_stored()


def test_duplicate_delivery_is_200_and_adds_no_event(kind, platform_app, enqueued, client):
    payload = load_fixture(PAYLOADS[kind])
    first = deliver(client, platform_app, kind, payload)
    second = deliver(client, platform_app, kind, payload)
    assert first.status_code == second.status_code == 200
    assert second.json() == {"received": 1, "new": 0, "duplicates": 1}
    assert HubSpotEvent.objects.count() == 1
    assert enqueued.call_count == 1  # the duplicate enqueues nothing
    # Both requests are kept raw (HubSpot's retries are visible); the duplicate's is already done.
    assert list(WebhookReceipt.objects.order_by("received_at").values_list("status", flat=True)) == [
        "received",
        "processed",
    ]


def test_same_event_twice_in_one_array_is_one_event(platform_app, enqueued, client):
    event = load_fixture(PAYLOADS["app"])[0]
    response = deliver(client, platform_app, "app", [event, event])
    assert response.json() == {"received": 2, "new": 1, "duplicates": 1}
    assert HubSpotEvent.objects.count() == 1


def test_last_received_at_reports_only_signed_requests(platform_app, enqueued, client):
    from conversations.webhooks import last_received_at

    assert last_received_at(platform_app) is None
    deliver(client, platform_app, "app", load_fixture(PAYLOADS["app"]), secret="wrong")
    assert last_received_at(platform_app) is None
    deliver(client, platform_app, "app", load_fixture(PAYLOADS["app"]))
    assert last_received_at(platform_app) == WebhookReceipt.objects.get().received_at


@pytest.mark.parametrize("kind", ["app", "channel"])
def test_nul_character_is_400_not_a_storage_crash(kind, platform_app, enqueued, client):
    # Valid JSON that PostgreSQL's jsonb cannot store: refused up front, never a 500 on save.
    payload = (
        b'[{"eventId": 7, "subscriptionType": "conversation.creation", '
        b'"portalId": 1, "objectId": "a\\u0000"}]'
        if kind == "app"
        else b'{"type": "OUTGOING_CHANNEL_MESSAGE_CREATED", "message": {"id": "m\\u0000"}}'
    )
    response = deliver(client, platform_app, kind, body=payload)
    assert response.status_code == 400
    assert "NUL character" in response.json()["message"]
    assert nothing_stored() and not enqueued.called
