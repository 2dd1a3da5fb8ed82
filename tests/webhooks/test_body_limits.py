"""413 on both webhook endpoints, over real HTTP servers: gunicorn (production's, which decodes
chunked bodies) and Django's live_server. A body over the limit is refused before anything is stored,
whether it declares its size, declares less than it sends, or comes chunked without Content-Length.
A lying or cut-short body is a clear 4xx, never a 5xx."""

import json

import pytest
import requests

from conversations.models import HubSpotEvent, WebhookReceipt
from tests.gunicorn import free_port, raw_request, running_gunicorn
from tests.webhooks.helpers import encode, load_fixture, path_of, signed_headers, webhook_url
from tests.worker import process_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LIMIT = 2000
PAYLOADS = {"app": "conversation.creation__new_thread", "channel": "OUTGOING_CHANNEL_MESSAGE_CREATED__text"}


@pytest.fixture(params=["app", "channel"])
def kind(request):
    return request.param


def nothing_stored() -> bool:
    return not WebhookReceipt.objects.exists() and not HubSpotEvent.objects.exists()


def body_of(kind: str, size: int) -> bytes:
    """A valid payload of the endpoint, padded to about `size` bytes."""
    payload = load_fixture(PAYLOADS[kind])
    pad = {"pad": "x" * max(size - len(encode(payload)) - 12, 0)}
    return encode(payload | pad if isinstance(payload, dict) else [payload[0] | pad])


def signed(app, kind, body: bytes) -> tuple[str, dict]:
    url = webhook_url(app, kind)
    return path_of(url), {"Content-Type": "application/json", **signed_headers(app.client_secret, url, body)}


@pytest.fixture(scope="module")
def gunicorn_server(django_db_setup, tmp_path_factory):
    """gunicorn on the test settings and the test database, with a small body limit (one for the
    module: each test's rows are committed, and the server reads them per request)."""
    port = free_port()
    env = process_env() | {
        "HITL_WEBHOOK_MAX_BODY_BYTES": str(LIMIT),
        "TEST_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    with running_gunicorn(env, tmp_path_factory.mktemp("gunicorn"), port=port, workers=1) as server:
        yield server


@pytest.fixture
def gunicorn(gunicorn_server, settings):
    # Signed over the server's own origin, as PUBLIC_BASE_URL would be.
    settings.PUBLIC_BASE_URL = gunicorn_server.url
    return gunicorn_server


def test_chunked_body_over_the_limit_is_413(kind, gunicorn, platform_app):
    body = body_of(kind, 3 * LIMIT)
    path, headers = signed(platform_app, kind, body)

    response = raw_request(gunicorn.port, "POST", path, headers, body, chunked=True)

    assert response.status == 413, (response, gunicorn.log())
    assert json.loads(response.body) == {
        "error": "payload_too_large",
        "message": f"The body is larger than {LIMIT} bytes.",
    }
    assert nothing_stored()


def test_chunked_body_within_the_limit_is_read_and_stored(kind, gunicorn, platform_app):
    body = body_of(kind, LIMIT // 2)
    path, headers = signed(platform_app, kind, body)

    response = raw_request(gunicorn.port, "POST", path, headers, body, chunked=True)

    assert response.status == 200, (response, gunicorn.log())
    assert json.loads(response.body)["received"] == 1
    assert WebhookReceipt.objects.get().body.encode() == body


def test_declared_length_over_the_limit_is_413_without_waiting_for_the_body(kind, gunicorn, platform_app):
    path, headers = signed(platform_app, kind, b"[]")
    # Headers only: a server that waited for the 10 MB would time out this request.
    response = raw_request(gunicorn.port, "POST", path, headers, b"", content_length=10_000_000, timeout=5)
    assert response.status == 413
    assert nothing_stored()


def test_correctly_declared_body_over_the_limit_is_413(kind, gunicorn, platform_app):
    body = body_of(kind, 3 * LIMIT)
    path, headers = signed(platform_app, kind, body)
    response = raw_request(gunicorn.port, "POST", path, headers, body)
    assert response.status == 413
    assert nothing_stored()


def test_body_longer_than_its_content_length_is_never_read_past_it(kind, gunicorn, platform_app):
    """Declares 100 bytes, sends 3x the limit: only the declared bytes are read, the signature (over
    the whole body) fails, nothing is stored, and the server goes on serving."""
    body = body_of(kind, 3 * LIMIT)
    path, headers = signed(platform_app, kind, body)

    response = raw_request(gunicorn.port, "POST", path, headers, body, content_length=100)

    assert response.status == 401
    assert json.loads(response.body)["reason"] == "mismatch"
    assert nothing_stored()
    assert requests.get(f"{gunicorn.url}/healthz", timeout=5).status_code == 200


def test_body_shorter_than_its_content_length_is_400(kind, gunicorn, platform_app):
    body = body_of(kind, LIMIT // 2)
    path, headers = signed(platform_app, kind, body)

    response = raw_request(
        gunicorn.port, "POST", path, headers, body[:300], content_length=len(body), half_close=True
    )

    assert response.status == 400, (response, gunicorn.log())
    assert json.loads(response.body) == {
        "error": "parse_error",
        "message": f"The body ended after 300 of its {len(body)} bytes.",
    }
    assert nothing_stored()


def test_over_the_limit_on_django_live_server(kind, live_server, settings, platform_app):
    """Django's own server: 413 from the declared length; a chunked body, which it cannot read, is
    411 asking for a Content-Length (never an empty body passed on, never a 5xx)."""
    settings.HITL_WEBHOOK_MAX_BODY_BYTES = LIMIT
    settings.PUBLIC_BASE_URL = live_server.url
    port = int(live_server.url.rsplit(":", 1)[1])
    body = body_of(kind, 3 * LIMIT)
    path, headers = signed(platform_app, kind, body)

    assert raw_request(port, "POST", path, headers, body).status == 413
    chunked = raw_request(port, "POST", path, headers, body, chunked=True)
    assert chunked.status == 411
    assert json.loads(chunked.body)["error"] == "length_required"
    assert nothing_stored()
