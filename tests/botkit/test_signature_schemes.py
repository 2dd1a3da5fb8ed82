"""Both callback signature schemes, each checked by a verifier that shares no code with the portal.

* X-HITL-Signature: a check written here from the README's "For bot developers" paragraph alone.
* Standard Webhooks: the `standardwebhooks` library from PyPI, as a bot would use it.
"""

import base64
import hashlib
import hmac
import re
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from connections.models import CallbackSecret, CallbackSignature
from connections.services import rotate_callback_secret
from conversations import delivery
from conversations.models import DeliveryStatus
from tests.callbacks.conftest import emit_n, make_escalation

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier(header: str, body: bytes, secret: str) -> bool:
    """What the README tells a bot to do, and nothing more."""
    text = README.read_text()
    # The README states the scheme; if it stops saying so, this verifier is no longer "from the README".
    assert "HMAC-SHA256" in text and '"<t>.<raw body>"' in text and "hex" in text
    fields = [part.split("=", 1) for part in header.split(",")]
    (t,) = [value for key, value in fields if key == "t"]
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - int(t)) <= 300 and any(
        hmac.compare_digest(expected, value) for key, value in fields if key == "v1"
    )


def test_new_secrets_are_standard_base64_usable_by_both_schemes(connection):
    _, plaintext = CallbackSecret.issue(connection)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", plaintext)
    assert len(base64.b64decode(plaintext.removeprefix("whsec_"), validate=True)) == 32


def test_default_scheme_is_ours_and_verifies_by_the_readme(connection, secret, receiver):
    escalation = make_escalation(connection, receiver.url)
    emit_n(escalation, 1)

    delivery.deliver_pending(escalation.pk)

    (request,) = receiver.received
    assert connection.callback_signature == CallbackSignature.HITL
    assert readme_verifier(request.headers["X-HITL-Signature"], request.body, secret)
    assert not readme_verifier(request.headers["X-HITL-Signature"], request.body + b" ", secret)
    assert "webhook-signature" not in {k.lower() for k in request.headers}


def test_standard_webhooks_scheme_verifies_with_the_standardwebhooks_library(connection, receiver):
    connection.callback_signature = CallbackSignature.STANDARD
    connection.save()
    _, old = CallbackSecret.issue(connection)
    _, new = rotate_callback_secret(connection)  # two active: one v1 each
    escalation = make_escalation(connection, receiver.url)
    (event,) = emit_n(escalation, 1)

    delivery.deliver_pending(escalation.pk)

    (request,) = receiver.received
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["webhook-id"] == str(event.id) == headers["x-hitl-event-id"]
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert "x-hitl-signature" not in headers
    for secret in (old, new):
        assert Webhook(secret).verify(request.body, headers) == request.json
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(request.body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(request.body + b" ", headers)
    event.refresh_from_db()
    assert event.delivery_status == DeliveryStatus.DELIVERED


def test_standard_scheme_with_only_an_old_style_secret_is_held_with_a_clear_error(connection, receiver):
    connection.callback_signature = CallbackSignature.STANDARD
    connection.save()
    CallbackSecret.objects.create(connection=connection, secret="whsec_" + "-_ab" * 11)  # URL-safe form
    escalation = make_escalation(connection, receiver.url)
    (event,) = emit_n(escalation, 1)

    delivery.deliver_pending(escalation.pk)

    assert receiver.received == []  # never sent unsigned
    attempt = event.callback_attempts.get()
    assert "rotate the callback secret" in attempt.error
    event.refresh_from_db()
    assert event.delivery_status == DeliveryStatus.PENDING
