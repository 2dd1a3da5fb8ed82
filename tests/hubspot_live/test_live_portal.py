"""The doctor's steps and an escalation round trip against a real HubSpot developer test account.

Run with `make hubspot-live` after setting the HUBSPOT_LIVE_* variables (.env.example); skipped
otherwise, and never part of CI. Everything it creates in HubSpot is a custom channel of the test
app, one channel account per inbox and closed test threads.
"""

from __future__ import annotations

import io
import json

import pytest
import requests
from django.core.management import call_command

from connections.models import Connection
from conversations.models import Escalation

pytestmark = [pytest.mark.hubspot_live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provisioned(live) -> dict:
    out = io.StringIO()
    call_command(
        "provision_connection",
        "--tenant",
        "hubspot-live",
        "--app-id",
        str(live.app_id),
        "--client-id",
        live.client_id,
        "--client-secret",
        live.client_secret,
        "--developer-api-key",
        live.developer_api_key,
        "--refresh-token",
        live.refresh_token,
        "--inbox-id",
        str(live.inbox_id),
        "--json",
        stdout=out,
    )
    return json.loads(out.getvalue())


def test_doctor_passes_with_a_publish_round_trip(live, provisioned):
    connection = Connection.objects.get()
    out = io.StringIO()
    call_command(
        "hubspot_doctor",
        "--connection",
        str(connection.pk),
        "--publish-test",
        "--inbox",
        str(live.inbox_id),
        stdout=out,
    )
    assert "All steps passed." in out.getvalue(), out.getvalue()


def test_escalation_round_trip(live, provisioned, live_server):
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {provisioned['bot_api_key']}"
    base = f"{live_server.url}/api/v1"
    started = api.post(
        f"{base}/escalations/",
        json={
            "conversation_id": "hubspot-live-1",
            "user": {"name": "HITL live test", "email": live.contact_email},
            "title": "Live test of the HITL portal",
            "description": "Published by `make hubspot-live`; closed by the same test.",
            "transcript": [{"role": "user", "text": "Hello, I need a person."}],
        },
        timeout=60,
    )
    assert started.status_code == 201, started.text
    escalation = Escalation.objects.get(pk=started.json()["id"])
    assert escalation.hubspot_thread_id, "HubSpot answered the publish with its thread"
    assert escalation.hubspot_contact_id, "the contact was found and associated"

    closed = api.post(f"{base}/escalations/{escalation.pk}/close/", json={}, timeout=60)
    assert closed.status_code in (200, 202), closed.text
