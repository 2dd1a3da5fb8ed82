"""The bot API records its escalation-changing calls (start, message, close) for the console's
timeline: one INSERT per call, refusals included, never a body or a key, never failing the call."""

from __future__ import annotations

import io
import json

import pytest
import requests
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from connections.models import BotApiKey
from conversations.models import BotApiRequest, Escalation, EscalationStatus
from tests.factories import escalation


@pytest.fixture
def api(inbox_a):
    key, plaintext = BotApiKey.issue(inbox_a.connection)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    client.key = key
    return client


def url(esc, action: str = "") -> str:
    return f"/api/v1/escalations/{esc.pk}/" + (f"{action}/" if action else "")


@pytest.mark.django_db
def test_message_close_and_a_refused_message_are_recorded(api, inbox_a):
    esc = escalation(inbox_a, status=EscalationStatus.OPEN)
    assert api.post(url(esc, "messages"), {"text": "secret order 42"}, format="json").status_code == 202
    assert api.post(url(esc, "close")).status_code == 200
    assert api.post(url(esc, "messages"), {"text": "too late"}, format="json").status_code == 409
    rows = list(BotApiRequest.objects.order_by("created_at", "id"))
    assert [(r.action, r.method, r.status_code, r.error_code) for r in rows] == [
        ("message", "POST", 202, ""),
        ("close", "POST", 200, ""),
        ("message", "POST", 409, "escalation_closed"),
    ]
    for row in rows:
        assert row.escalation_id == esc.pk and row.connection_id == inbox_a.connection_id
        assert row.api_key_id == api.key.pk and row.path == url(
            esc, row.action + ("s" if row.action == "message" else "")
        )
        assert row.duration_ms >= 0
        stored = json.dumps([getattr(row, f.attname) for f in row._meta.fields], default=str)
        assert "secret order 42" not in stored and "hitl_" not in stored


@pytest.mark.django_db
def test_reads_and_unauthenticated_calls_are_not_recorded(api, inbox_a):
    esc = escalation(inbox_a)
    assert api.get(url(esc)).status_code == 200
    assert api.get(url(esc, "events")).status_code == 200
    assert api.get("/api/v1/escalations/").status_code == 200
    assert APIClient().post(url(esc, "close")).status_code == 401
    assert not BotApiRequest.objects.exists()


@pytest.mark.django_db
def test_another_connections_escalation_is_recorded_without_it(api, inbox_a, inbox_b):
    theirs = escalation(inbox_b)
    assert api.post(url(theirs, "close")).status_code == 404
    row = BotApiRequest.objects.get()
    assert row.escalation_id is None and row.status_code == 404 and row.error_code == "not_found"
    assert row.connection_id == inbox_a.connection_id
    assert Escalation.objects.get(pk=theirs.pk).status == EscalationStatus.REQUESTED


def _statements(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))
    ]


@pytest.mark.django_db
def test_recording_is_one_insert_and_nothing_else(api, inbox_a, monkeypatch):
    from conversations.api import recording

    first, second = escalation(inbox_a), escalation(inbox_a)
    api.get(url(first))  # the key's first use writes its last_used_at; not what is measured
    with CaptureQueriesContext(connection) as recorded:
        api.post(url(first, "close"))
    monkeypatch.setattr(recording.RecordsBotRequests, "_record", lambda *args, **kwargs: None)
    with CaptureQueriesContext(connection) as unrecorded:
        api.post(url(second, "close"))
    extra = [sql for sql in _statements(recorded) if sql not in _statements(unrecorded)]
    inserts = [sql for sql in extra if sql.startswith('INSERT INTO "conversations_botapirequest"')]
    assert len(_statements(recorded)) == len(_statements(unrecorded)) + 1
    assert len(inserts) == 1


@pytest.mark.django_db
def test_a_failing_record_never_fails_the_call(api, inbox_a, monkeypatch, caplog):
    def broken(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(BotApiRequest, "save", broken)
    esc = escalation(inbox_a)
    response = api.post(url(esc, "close"))
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert "could not record bot API close" in caplog.text


def test_start_and_a_422_start_are_recorded_over_http(hubspot, live_server, settings):
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = True
    out = io.StringIO()
    call_command("provision_connection", "--sandbox", "--json", stdout=out)
    key = json.loads(out.getvalue())["bot_api_key"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    body = {"conversation_id": "rec-1", "user": {"name": "Ada", "phone": "+44 7700 900001"}, "title": "Help"}
    started = session.post(f"{live_server.url}/api/v1/escalations/", json=body, timeout=30)
    assert started.status_code == 201, started.text
    body = {
        "conversation_id": "rec-2",
        "user": {"name": "Nobody", "phone": "+44 7700 900999"},
        "title": "Help",
    }
    refused = session.post(f"{live_server.url}/api/v1/escalations/", json=body, timeout=30)
    assert refused.status_code == 422, refused.text
    rows = list(BotApiRequest.objects.order_by("created_at", "id"))
    assert [(r.action, r.status_code, r.error_code) for r in rows] == [
        ("start", 201, ""),
        ("start", 422, "contact_not_found"),
    ]
    assert str(rows[0].escalation_id) == started.json()["id"] and rows[1].escalation_id is None
    assert rows[0].path == "/api/v1/escalations/"
