"""Issue 7: hypothesis fuzzing of the webhook parser, the signature verifier's window, and the
webhook endpoint itself with HubSpot-signed random bodies.

The parser either returns events that fit the columns they are stored in, or raises its own
validation error (DRF's ParseError / ValidationError, which the view answers 400); never anything
else. The endpoint, given bodies signed with the app's real secret (so they get past the
signature to parsing and storage), never answers 500: a body is stored and answered 200, or
refused with a 4xx that says why. tests/webhooks/test_signature.py already fuzzes the verifier
with arbitrary bytes and header text; here, timestamps across and exactly at the window's edges.
"""

import contextlib
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError, ValidationError

from conversations.models import HubSpotEvent
from conversations.webhooks import parsing
from conversations.webhooks.signature import (
    MAX_AGE_MS,
    MAX_FUTURE_SKEW_MS,
    SignatureError,
    sign_v3,
    verify_v3,
)
from sandbox.webhooks import signed_headers
from tests.webhooks.helpers import load_fixture, path_of, webhook_url

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# JSON values with what breaks naive code: huge and negative numbers, floats, unicode (lone
# surrogates included, which JSON allows as escapes), empty and nested containers.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "0", "-1", "١٢٣", "²", "9" * 25, "2026-03-01T12:00:00Z", "not a date", "\ud800"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
)
ids = scalars | st.just(9001)


def app_event():
    """Objects shaped like app events, each field anything (or missing)."""
    fields = {
        "eventId": ids,
        "subscriptionType": st.sampled_from(["conversation.creation", "conversation.propertyChange"])
        | scalars,
        "portalId": ids,
        "objectId": ids,
        "occurredAt": ids,
        "propertyName": scalars,
        "propertyValue": scalars,
        "messageId": scalars,
    }
    return st.fixed_dictionaries({}, optional=fields) | json_values


def channel_event():
    message = st.fixed_dictionaries(
        {}, optional={"id": ids, "conversationsThreadId": ids, "createdAt": scalars, "text": scalars}
    )
    fields = {
        "type": st.sampled_from(["OUTGOING_CHANNEL_MESSAGE_CREATED", "CHANNEL_ACCOUNT_CREATED"]) | scalars,
        "eventId": ids,
        "portalId": ids,
        "channelAccountId": ids,
        "eventTimestamp": scalars,
        "message": message | json_values,
    }
    return st.fixed_dictionaries({}, optional=fields) | json_values


def wellformed_app_event():
    """Required fields well formed (so it gets past the checks to storage), the rest anything."""
    required = {
        "eventId": st.integers(min_value=1, max_value=2**63) | st.text(min_size=1, max_size=20),
        "subscriptionType": st.sampled_from(["conversation.newMessage", "conversation.propertyChange"])
        | st.text(min_size=1, max_size=90),
        "portalId": st.integers(min_value=0, max_value=2**63 - 1) | st.integers(0, 10**6).map(str),
    }
    optional = {
        "objectId": ids,
        "occurredAt": ids,
        "propertyName": scalars,
        "messageId": scalars,
        "x": json_values,
    }
    return st.fixed_dictionaries(required, optional=optional)


def wellformed_channel_event():
    message = st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=80) | st.integers(min_value=1)},
        optional={
            "conversationsThreadId": ids,
            "createdAt": scalars,
            "text": scalars,
            "senders": json_values,
        },
    )
    return st.fixed_dictionaries(
        {"type": st.just("OUTGOING_CHANNEL_MESSAGE_CREATED") | st.text(min_size=1, max_size=90)},
        optional={
            "message": message,
            "eventId": ids,
            "portalId": ids,
            "eventTimestamp": scalars,
            "x": json_values,
        },
    )


def encoded(value) -> bytes:
    # ensure_ascii: lone surrogates become \ud800 escapes, valid JSON that json.loads gives back.
    return json.dumps(value).encode()


app_bodies = st.one_of(
    st.lists(wellformed_app_event(), min_size=1, max_size=5), st.lists(app_event(), max_size=5)
).map(encoded)
channel_bodies = (wellformed_channel_event() | channel_event()).map(encoded)
junk = st.one_of(
    json_values.map(encoded),
    st.binary(max_size=300),
    st.sampled_from([b"NaN", b"[1e999]", b'{"type": "x", "n": -Infinity}', b"[" * 5000, b"\xff\xfe", b""]),
)
bodies = app_bodies | channel_bodies | junk
# Each endpoint mostly gets bodies of its own kind, so most reach parsing's deeper checks and storage.
requests_ = st.one_of(
    st.tuples(st.just("app"), app_bodies),
    st.tuples(st.just("channel"), channel_bodies),
    st.tuples(st.sampled_from(["app", "channel"]), junk),
)


def _fits_its_columns(event: parsing.ParsedEvent) -> None:
    field = HubSpotEvent._meta.get_field
    assert len(event.dedupe_key) <= field("dedupe_key").max_length
    assert len(event.event_type) <= field("event_type").max_length
    assert len(event.object_id) <= field("object_id").max_length
    assert event.portal_id is None or 0 <= event.portal_id < 2**63
    # Stored as jsonb: strict JSON (no NaN/Infinity) that PostgreSQL can hold (UTF-8, no NUL).
    text = json.dumps(event.payload, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    assert "\x00" not in text


@FUZZ
@given(body=bodies)
@example(body=b'[{"eventId": 1, "subscriptionType": "x", "portalId": 1, "objectId": "\\ud800"}]')
@example(body=b'[{"eventId": 1, "subscriptionType": "x", "portalId": 1, "occurredAt": NaN}]')
def test_parsers_return_storable_events_or_their_own_validation_error(body):
    for parse in (parsing.parse_app_events, parsing.parse_channel_event):
        try:
            events = parse(body)
        except (ParseError, ValidationError):
            continue
        for event in events:
            _fits_its_columns(event)


@pytest.mark.django_db
@FUZZ
@given(request=requests_)
def test_signed_random_bodies_never_make_the_endpoint_fail(client, platform_app, request):
    kind, body = request
    # Signed by the sandbox's HubSpot signer, which takes any bytes (HubSpot's helper needs text).
    url = webhook_url(platform_app, kind)
    headers = signed_headers(platform_app.client_secret, url, body)
    response = client.post(path_of(url), data=body, content_type="application/json", headers=headers)
    assert response.status_code in (200, 400, 413), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert response.json()["message"], "a refusal says what is wrong"


SECRET, URI, BODY = "s3cret", "https://hitl.example.com/webhooks/hubspot/t/app/", b"[]"
NOW = 1_772_366_400_000


@given(offset=st.integers(min_value=-10 * 60 * 1000, max_value=10 * 60 * 1000))
@example(offset=MAX_AGE_MS)
@example(offset=MAX_AGE_MS + 1)
@example(offset=-MAX_FUTURE_SKEW_MS)
@example(offset=-MAX_FUTURE_SKEW_MS - 1)
def test_signature_window_edges(offset):
    """A correct signature verifies exactly when the timestamp is at most 5 min old and at most
    60 s ahead; outside, the refusal names the side."""
    ts = str(NOW - offset)
    signature = sign_v3(SECRET, "POST", URI, BODY, ts)
    call = dict(
        secrets=[SECRET], method="POST", uri=URI, body=BODY, signature=signature, timestamp=ts, now_ms=NOW
    )
    if -MAX_FUTURE_SKEW_MS <= offset <= MAX_AGE_MS:
        verify_v3(**call)
    else:
        with pytest.raises(SignatureError) as excinfo:
            verify_v3(**call)
        assert excinfo.value.reason == ("stale" if offset > 0 else "future")


@given(signature=st.text(max_size=60), ts=st.text(max_size=20) | st.integers().map(str))
@example(signature="ä" * 44, ts=str(NOW))
@example(signature=" " + sign_v3(SECRET, "POST", URI, BODY, str(NOW)) + "\t", ts=str(NOW))
def test_header_values_of_any_text_are_a_clean_answer(signature, ts):
    """Non-ASCII, whitespace and junk headers: verified or SignatureError, never another error."""
    with contextlib.suppress(SignatureError):
        verify_v3(
            secrets=[SECRET], method="POST", uri=URI, body=BODY, signature=signature, timestamp=ts, now_ms=NOW
        )


def test_a_real_payload_still_parses():
    """The fuzz targets are the real parsers: a recorded HubSpot body parses to its event."""
    (event,) = parsing.parse_app_events(
        json.dumps([load_fixture("conversation.creation__new_thread")[0]]).encode()
    )
    assert event.event_type == "conversation.creation"
