"""Each web process keeps a webhook URL's app for a few seconds (no read and decryption per request),
without ever refusing a request signed with a freshly rotated secret, and without storing events
for an app that is gone."""

import pytest
from django.db import connection as db

from connections.models import HubSpotApp
from conversations.models import HubSpotEvent
from conversations.webhooks import authentication
from tests.factories import HubSpotAppFactory
from tests.webhooks.helpers import deliver, load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def kept_long(settings):
    settings.HITL_WEBHOOK_APP_CACHE_SECONDS = 300
    authentication._apps.clear()
    yield
    authentication._apps.clear()


def events(n=1):
    return [load_fixture("conversation.creation__new_thread")[0] | {"eventId": 500 + k} for k in range(n)]


def app_reads(queries) -> int:
    return sum('FROM "connections_hubspotapp"' in q["sql"] for q in queries)


def test_the_app_is_read_once_per_process_not_per_request(client):
    from django.test.utils import CaptureQueriesContext

    app = HubSpotAppFactory()
    with CaptureQueriesContext(db) as first:
        assert deliver(client, app, "app", events()).status_code == 200
    with CaptureQueriesContext(db) as second:
        assert deliver(client, app, "app", [events()[0] | {"eventId": 900}]).status_code == 200
    assert (app_reads(first.captured_queries), app_reads(second.captured_queries)) == (1, 0)


def test_a_secret_rotated_elsewhere_is_accepted_at_once_and_the_old_one_refused(client):
    app = HubSpotAppFactory(client_secret="old-secret")
    assert deliver(client, app, "app", events(), secret="old-secret").status_code == 200
    # given: another process (the admin) rotated the secret; this process still keeps the old one
    HubSpotApp.objects.filter(pk=app.pk).update(client_secret="new-secret")  # no signal, like elsewhere
    assert authentication._apps[str(app.webhook_token)][1].client_secret == "old-secret"
    # then HubSpot's next webhook, signed with the new secret, is accepted (re-read on mismatch)
    assert deliver(client, app, "app", [events()[0] | {"eventId": 2}], secret="new-secret").status_code == 200
    # and the old secret is refused from then on
    refused = deliver(client, app, "app", [events()[0] | {"eventId": 3}], secret="old-secret")
    assert refused.status_code == 401 and refused.json()["reason"] == "mismatch"
    assert not HubSpotEvent.objects.filter(dedupe_key="event:3").exists()


def test_a_secret_saved_in_this_process_is_used_at_once(client):
    app = HubSpotAppFactory(client_secret="old-secret")
    assert deliver(client, app, "app", events(), secret="old-secret").status_code == 200
    app.client_secret = "new-secret"
    app.save()
    refused = deliver(client, app, "app", [events()[0] | {"eventId": 2}], secret="old-secret")
    assert refused.status_code == 401


def test_a_new_url_token_refuses_the_old_url_once_the_entry_expires(client, settings):
    app = HubSpotAppFactory()
    assert deliver(client, app, "app", events()).status_code == 200
    old = HubSpotApp.objects.get(pk=app.pk)
    HubSpotApp.objects.filter(pk=app.pk).update(webhook_token="6f1c1f0e-0000-4000-8000-000000000001")
    settings.HITL_WEBHOOK_APP_CACHE_SECONDS = 0  # the entry kept for the old token has expired
    refused = deliver(client, old, "app", [events()[0] | {"eventId": 2}])
    assert refused.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_app_deleted_elsewhere_gets_404_not_500_and_stores_nothing(client):
    app = HubSpotAppFactory()
    secret = app.client_secret
    assert deliver(client, app, "app", events()).status_code == 200
    # given: another process deleted the app (no signal reaches this one): raw SQL, like it
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM conversations_hubspotevent WHERE app_id = %s", [app.pk])
        cursor.execute("DELETE FROM conversations_webhookreceipt WHERE app_id = %s", [app.pk])
        cursor.execute("DELETE FROM connections_hubspotapp WHERE id = %s", [app.pk])
    response = deliver(client, app, "app", [events()[0] | {"eventId": 2}], secret=secret)
    assert response.status_code == 404, response.content
    assert not HubSpotEvent.objects.exists()
    assert str(app.webhook_token) not in authentication._apps
