"""Bad input and foreign access: status, message, and nothing stored or sent."""

import re

import pytest
import requests

from connections.models import BotApiKey, Connection
from conversations.models import Escalation
from sandbox.models import SandboxMessage
from tests.api.conftest import BotClient, start_body
from tests.connections.helpers import connect
from tests.factories import HubSpotAppFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def assert_nothing_stored():
    assert not Escalation.objects.exists()
    assert not SandboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (
            {"name": "Ada", "phone": "07700 900001"},
            "user.phone: include the country code, e.g. +44 7700 900123",
        ),
        ({"name": "Ada", "phone": "+44 12"}, "user.phone: not a possible number for its country code"),
        (
            {"name": "Ada", "email": "not-an-email"},
            "user.email: not a valid email address; expected e.g. ada@example.com.",
        ),
        ({"name": "Ada"}, "user.phone: give the user's phone (with country code) and/or email"),
    ],
)
def test_bad_user_is_400_naming_the_field(bot, user, message):
    response = bot.post("escalations/", start_body(user=user))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["message"].startswith(message)
    assert_nothing_stored()


def test_wrong_types_name_each_field(bot):
    body = start_body(title=["x"], transcript=[{"role": "agent", "text": "hi"}], inbox_id="abc")
    response = bot.post("escalations/", body)

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert {"title", "transcript[0].role", "inbox_id"} <= set(fields)
    assert_nothing_stored()


def test_unknown_inbox_is_400_naming_it(bot):
    response = bot.post("escalations/", start_body(inbox_id=123))

    assert response.status_code == 400
    assert response.json()["error"] == "unknown_inbox"
    assert response.json()["message"].startswith("inbox_id: 123 is not an inbox of this connection")
    assert_nothing_stored()


def test_too_long_transcript_is_413(bot):
    transcript = [{"role": "user", "text": "hi"}] * 201
    response = bot.post("escalations/", start_body(transcript=transcript))

    assert response.status_code == 413
    assert response.json()["message"] == "transcript: at most 200 entries (got 201)."
    assert_nothing_stored()


def test_malformed_json_is_400(bot):
    response = bot.session.post(
        bot.url("escalations/"), data="{not json", headers={"Content-Type": "application/json"}, timeout=30
    )

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_request"
    assert response.json()["message"].startswith("The body is not valid JSON")
    assert_nothing_stored()


def test_missing_unknown_and_revoked_keys_are_401(bot, live_server, provisioned):
    anonymous = BotClient(live_server.url, None).post("escalations/", start_body())
    unknown = BotClient(live_server.url, "hitl_" + "x" * 43).post("escalations/", start_body())
    BotApiKey.objects.get().revoke()
    revoked = bot.post("escalations/", start_body())

    for response in (anonymous, unknown, revoked):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["error"] == "unauthorized"
    assert "revoked" in revoked.json()["message"]
    assert unknown.json()["message"] == "Unknown bot API key."
    assert_nothing_stored()


def test_other_connection_or_tenant_sees_404(bot, live_server, provisioned, hubspot):
    esc_id = bot.post("escalations/", start_body(transcript=[])).json()["id"]
    own = Connection.objects.get(pk=provisioned["connection_id"])
    other_tenant = TenantFactory(name="Initech", slug="initech")
    app = HubSpotAppFactory(tenant=other_tenant, app_id=99)
    other = connect(other_tenant, app, portal_id=own.portal_id, refresh_token="r")
    _, plaintext = BotApiKey.issue(other)
    stranger = BotClient(live_server.url, plaintext)

    for response in (
        stranger.get(f"escalations/{esc_id}/"),
        stranger.get(f"escalations/{esc_id}/events/"),
        stranger.post(f"escalations/{esc_id}/messages/", {"text": "hi"}),
        stranger.post(f"escalations/{esc_id}/close/"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert stranger.get("escalations/").json()["results"] == []
    assert Escalation.objects.get().status == "open" and Escalation.objects.get().messages.count() == 1


def test_schema_and_docs(live_server):
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30)
    docs = requests.get(f"{live_server.url}/api/docs/", timeout=30)

    assert schema.status_code == 200 and docs.status_code == 200
    # Swagger UI's assets come from this server, not a CDN (offline installs must show the docs).
    assert "cdn.jsdelivr.net" not in docs.text
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', docs.text).group(1)
    assert requests.get(f"{live_server.url}{bundle}", timeout=30).status_code == 200
    spec = schema.json()
    assert spec["components"]["securitySchemes"]["BotApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A bot API key of the connection (created in the admin, shown once).",
    }
    assert {
        "/api/v1/escalations/",
        "/api/v1/escalations/{id}/",
        "/api/v1/escalations/{id}/messages/",
        "/api/v1/escalations/{id}/close/",
        "/api/v1/escalations/{id}/events/",
    } <= set(spec["paths"])
    create = spec["paths"]["/api/v1/escalations/"]["post"]
    assert {"201", "200", "400", "401", "413", "422"} <= set(create["responses"])


def test_unusable_connection_is_503_and_nothing_stored(bot, provisioned):
    Connection.objects.filter(pk=provisioned["connection_id"]).update(access_token="", refresh_token="")

    response = bot.post("escalations/", start_body())

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "connection_error"
    assert "reconnect" in response.json()["message"]
    assert_nothing_stored()
