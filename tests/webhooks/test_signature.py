"""Our v3 verifier against HubSpot's own implementation (hubspot-api-client), which we did not write."""

import json
import time

import pytest
from hubspot.utils.signature import Signature
from hypothesis import given
from hypothesis import strategies as st

from conversations.webhooks.signature import SignatureError, sign_v3, verify_v3

SECRET = "7f4c3a1e-client-secret"
URL = "https://hitl.example.com/webhooks/hubspot/4f7d2c7e-1d2b-4c1e-9d8a-2b9f1c3e5a77/app/"
BODY = json.dumps([{"eventId": 1, "subscriptionType": "conversation.creation", "objectId": 9001}]).encode()


def now_ms() -> int:
    return int(time.time() * 1000)


def hubspot_signed(body=BODY, url=URL, secret=SECRET, ts=None):
    """Sign the way HubSpot does, using HubSpot's own helper."""
    ts = str(ts if ts is not None else now_ms())
    return Signature.get_signature(
        secret, body.decode(), "v3", http_uri=url, http_method="POST", timestamp=ts
    ), ts


def verify(signature, ts, *, body=BODY, url=URL, secrets=(SECRET,), now=None):
    verify_v3(
        secrets=secrets, method="POST", uri=url, body=body, signature=signature, timestamp=ts, now_ms=now
    )


def test_accepts_request_signed_by_hubspots_implementation():
    signature, ts = hubspot_signed()
    verify(signature, ts)  # does not raise


def test_our_signature_is_accepted_by_hubspots_checker():
    ts = str(now_ms())
    ours = sign_v3(SECRET, "POST", URL, BODY, ts)
    assert Signature.is_valid(
        ours, SECRET, BODY.decode(), http_uri=URL, http_method="POST", signature_version="v3", timestamp=ts
    )


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda s, ts: (s, ts, BODY.replace(b"9001", b"9002"), URL), "mismatch"),
        (lambda s, ts: (s, ts, BODY, URL.replace("/app/", "/channel/")), "mismatch"),
        (lambda s, ts: (s, str(int(ts) + 1), BODY, URL), "mismatch"),
        (lambda s, ts: (s[:-4] + "AAA=", ts, BODY, URL), "mismatch"),
        (lambda s, ts: ("short", ts, BODY, URL), "mismatch"),
        (lambda s, ts: (s + "extra-length-" * 20, ts, BODY, URL), "mismatch"),
        (lambda s, ts: ("sïgnätüre-ñon-ascii", ts, BODY, URL), "mismatch"),
        (lambda s, ts: ("", ts, BODY, URL), "missing"),
        (lambda s, ts: (s, "", BODY, URL), "missing"),
        (lambda s, ts: (s, "not-a-number", BODY, URL), "malformed_timestamp"),
        (lambda s, ts: (s, "-5", BODY, URL), "malformed_timestamp"),
    ],
)
def test_rejects_tampered_or_malformed(tamper, reason):
    signature, ts = hubspot_signed()
    signature, ts, body, url = tamper(signature, ts)
    with pytest.raises(SignatureError) as excinfo:
        verify(signature, ts, body=body, url=url)
    assert excinfo.value.reason == reason


def test_rejects_wrong_secret():
    signature, ts = hubspot_signed(secret="another-apps-secret")
    with pytest.raises(SignatureError, match="does not match"):
        verify(signature, ts)


def test_rejects_stale_and_accepts_just_inside_window():
    now = now_ms()
    signature, ts = hubspot_signed(ts=now - 5 * 60 * 1000 - 1)
    with pytest.raises(SignatureError) as excinfo:
        verify(signature, ts, now=now)
    assert excinfo.value.reason == "stale"
    signature, ts = hubspot_signed(ts=now - 5 * 60 * 1000 + 1000)
    verify(signature, ts, now=now)


def test_rejects_future_dated_which_hubspots_own_helper_accepts():
    now = now_ms()
    signature, ts = hubspot_signed(ts=now + 10 * 60 * 1000)
    assert Signature.is_valid(
        signature,
        SECRET,
        BODY.decode(),
        http_uri=URL,
        http_method="POST",
        signature_version="v3",
        timestamp=ts,
    )
    with pytest.raises(SignatureError) as excinfo:
        verify(signature, ts, now=now)
    assert excinfo.value.reason == "future"


def test_seconds_instead_of_milliseconds_is_stale():
    signature, ts = hubspot_signed(ts=int(time.time()))
    with pytest.raises(SignatureError) as excinfo:
        verify(signature, ts)
    assert excinfo.value.reason == "stale"


def test_rotation_accepts_old_and_new_secret():
    signature, ts = hubspot_signed(secret="old-secret")
    verify(signature, ts, secrets=("new-secret", "old-secret"))


def test_percent_encoded_reserved_characters_are_decoded_like_hubspot():
    # HubSpot signs the decoded form of these characters; a receiver seeing %3A must still verify.
    ts = str(now_ms())
    decoded_url = "https://hitl.example.com/hook?x=a:b,c"
    signature = Signature.get_signature(SECRET, BODY.decode(), "v3", http_uri=decoded_url, timestamp=ts)
    verify(signature, ts, url="https://hitl.example.com/hook?x=a%3Ab%2Cc")


@given(body=st.binary(max_size=2048), signature=st.text(max_size=120), ts=st.text(max_size=20))
def test_arbitrary_input_is_a_clean_rejection(body, signature, ts):
    # Random input never verifies, and never escapes as anything but SignatureError (no 500s).
    with pytest.raises(SignatureError):
        verify(signature, ts, body=body)


@given(body=st.binary(max_size=2048))
def test_any_body_signed_by_hubspot_verifies(body):
    text = body.decode("utf-8", "replace").encode()
    signature, ts = hubspot_signed(body=text)
    verify(signature, ts, body=text)
