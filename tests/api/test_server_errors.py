"""Failures the bot cannot fix still answer in the bot API's JSON error shape, never HTML: a bug is
500 `server_error`, a secret this process cannot decrypt (a key rotation half-deployed) is 503
`secrets_unavailable` with Retry-After."""

import json
import logging
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.signals import got_request_exception

from conversations.api.views import EscalationViewSet
from core.crypto import DecryptionFailed
from core.errors import JsonErrorMiddleware
from tests.api.conftest import start_body

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_unhandled_exception_is_a_json_500(bot, monkeypatch, caplog):
    def broken(self, queryset):
        raise RuntimeError("boom with access_token=abc123")

    monkeypatch.setattr(EscalationViewSet, "filter_queryset", broken)
    reported = []

    def receiver(sender, request, **kwargs):
        reported.append(sys.exc_info()[1])

    got_request_exception.connect(receiver)
    try:
        with caplog.at_level(logging.ERROR):
            response = bot.get("escalations/")
    finally:
        got_request_exception.disconnect(receiver)

    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "server_error",
        "message": "The server failed to handle this request; it has been logged.",
    }
    assert "boom" not in response.text
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
    # Error reporting (Sentry's Django integration) hears of it as of any unhandled exception.
    assert [str(e) for e in reported] == ["boom with access_token=abc123"]


def test_a_secret_no_key_opens_is_a_json_503_to_retry(bot, settings):
    # The stored HubSpot tokens were written with the test keys; this process holds another one.
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    response = bot.post("escalations/", start_body())

    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "30"
    body = response.json()
    assert body["error"] == "secrets_unavailable"
    assert body["retry_after"] == 30


def test_outside_the_api_an_undecryptable_secret_is_json_503_and_other_errors_stay_django_s(rf):
    middleware = JsonErrorMiddleware(lambda request: None)
    admin_page = rf.get("/admin/connections/connection/1/change/")

    response = middleware.process_exception(admin_page, DecryptionFailed("no key"))
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "secrets_unavailable"
    # Anything else outside /api/ is left to Django (its 500 page and logging).
    assert middleware.process_exception(admin_page, RuntimeError("bug")) is None


def test_the_schema_documents_500_and_503_in_the_error_shape(client, db):
    spec = client.get("/api/schema/?format=json").json()
    for path in spec["paths"].values():
        for operation in path.values():
            for code in ("500", "503"):
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (operation["operationId"], code)
