"""The X-HITL-Signature header, checked by an independent HMAC computed here by hand."""

import hashlib
import hmac
import time

import pytest

from connections.models import CallbackSecret
from connections.services import rotate_callback_secret
from conversations import delivery
from conversations.callbacks import USER_AGENT, signature_header, verify_signature
from tests.callbacks.conftest import emit_n
from tests.factories import EscalationFactory


def by_hand(secret: str, t: str, body: bytes) -> str:
    return hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()


def parse(header: str) -> tuple[str, list[str]]:
    items = [item.split("=", 1) for item in header.split(",")]
    t = [v for k, v in items if k == "t"]
    assert len(t) == 1
    return t[0], [v for k, v in items if k == "v1"]


def test_callback_is_signed_over_the_raw_body_with_the_connection_secret(connection, secret, receiver):
    # given
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    (event,) = emit_n(escalation, 1)

    # when
    delivery.deliver_pending(escalation.pk)

    # then
    (request,) = receiver.received
    t, signatures = parse(request.headers["X-HITL-Signature"])
    assert abs(int(t) - time.time()) < 5
    assert signatures == [by_hand(secret, t, request.body)]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT and USER_AGENT.startswith("hitl-portal/")
    assert request.headers["X-HITL-Event-Id"] == str(event.id)
    assert request.headers["X-HITL-Event-Type"] == "escalation.message"
    assert request.headers["X-HITL-Sequence"] == "1"
    assert request.json == {
        "id": str(event.id),
        "type": "escalation.message",
        "escalation_id": str(escalation.pk),
        "conversation_id": escalation.conversation_id,
        "sequence": 1,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": {"text": "message 1"},
    }
    assert verify_signature(request.headers["X-HITL-Signature"], request.body, secret)


def test_during_rotation_one_v1_per_active_secret_newest_first_and_both_verify(connection, receiver):
    # given: an old secret, then a rotation (two active), and a third rotation retires the oldest
    _, old = CallbackSecret.issue(connection)
    _, new = rotate_callback_secret(connection)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 1)

    # when
    delivery.deliver_pending(escalation.pk)

    # then
    (request,) = receiver.received
    header = request.headers["X-HITL-Signature"]
    t, signatures = parse(header)
    assert signatures == [by_hand(new, t, request.body), by_hand(old, t, request.body)]
    assert verify_signature(header, request.body, old)
    assert verify_signature(header, request.body, new)
    assert not verify_signature(header, request.body, "whsec_someone_else")


def test_retired_secret_no_longer_signs(connection, receiver):
    _, oldest = CallbackSecret.issue(connection)
    rotate_callback_secret(connection)
    _, newest = rotate_callback_secret(connection)  # keeps two: oldest is retired
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    emit_n(escalation, 1)
    delivery.deliver_pending(escalation.pk)
    (request,) = receiver.received
    _, signatures = parse(request.headers["X-HITL-Signature"])
    assert len(signatures) == 2
    assert not verify_signature(request.headers["X-HITL-Signature"], request.body, oldest)
    assert verify_signature(request.headers["X-HITL-Signature"], request.body, newest)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h, b: (h, b + b" "), id="body changed"),
        pytest.param(lambda h, b: ("", b), id="missing header"),
        pytest.param(lambda h, b: (h.split(",")[1], b), id="no timestamp"),
        pytest.param(lambda h, b: (h.split(",")[0], b), id="no v1"),
        pytest.param(lambda h, b: (h.replace("t=", "t=x"), b), id="bad timestamp"),
        pytest.param(lambda h, b: (h[:-1] + ("0" if h[-1] != "0" else "1"), b), id="one hex digit off"),
        pytest.param(lambda h, b: (h.replace("v1=", "v0="), b), id="other scheme"),
    ],
)
def test_verify_rejects_tampering(mutate):
    body = b'{"id":"e1","sequence":1}'
    header = signature_header(["whsec_k"], body)
    assert verify_signature(header, body, "whsec_k")
    bad_header, bad_body = mutate(header, body)
    assert not verify_signature(bad_header, bad_body, "whsec_k")


def test_verify_rejects_stale_and_future_timestamps():
    body = b"{}"
    now = 1_800_000_000
    assert verify_signature(signature_header(["k"], body, timestamp=now - 299), body, "k", now=now)
    assert not verify_signature(signature_header(["k"], body, timestamp=now - 301), body, "k", now=now)
    assert not verify_signature(signature_header(["k"], body, timestamp=now + 301), body, "k", now=now)
    assert verify_signature(signature_header(["k"], body, timestamp=now - 900), body, "k", 1000, now=now)


def test_no_active_secret_means_no_unsigned_post(connection, receiver):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    (event,) = emit_n(escalation, 1)
    run = delivery.deliver_pending(escalation.pk)
    assert receiver.received == []
    attempt = event.callback_attempts.get()
    assert "no active callback secret" in attempt.error and attempt.status_code is None
    event.refresh_from_db()
    assert event.delivery_status == "pending" and event.next_attempt_at is not None
    assert run.retry_in is not None
