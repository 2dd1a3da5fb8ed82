"""A message the bot sends is stored, and its request recorded, with one durable commit and no
re-read, as a web process with a broker runs it (the record's own transaction was a second commit
per send; reading back the publish fields only matters when the publish ran in place; the key's
read joined its connection's 23 columns and its tenant for one status). docs/benchmarks.md."""

import json
from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from connections.models import BotApiKey, ConnectionStatus
from conversations.models import BotApiRequest, EscalationMessage, EscalationStatus
from tests.commits import durable_commits, statements
from tests.factories import EscalationFactory
from tests.jobs import captured_jobs, names

# transaction=True: the request's own BEGIN/COMMIT are what is counted.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def send(client, key, esc, **body):
    return client.post(
        f"/api/v1/escalations/{esc.pk}/messages/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


@pytest.fixture
def esc_and_key():
    esc = EscalationFactory(status=EscalationStatus.ASSIGNED)
    _, key = BotApiKey.issue(esc.connection)
    return esc, key


def records(esc):
    rows = BotApiRequest.objects.filter(escalation=esc).order_by("id")
    return list(rows.values_list("status_code", "error_code"))


def test_a_new_message_and_its_record_are_one_commit_without_a_re_read(client, esc_and_key):
    esc, key = esc_and_key
    with captured_jobs(as_worker=True):
        send(client, key, esc, text="warm-up", client_message_id="w")  # the key's last use is written once
    with captured_jobs(as_worker=True) as queued, CaptureQueriesContext(connection) as queries:
        response = send(client, key, esc, text="Are you there?", client_message_id="m-1")

    assert response.status_code == 202, response.content
    assert response.json()["publish_status"] == "pending"
    assert names(queued) == ["publish_escalation"]
    # the record is written inside the message's transaction (before: a second one, 2 commits)
    everything = "\n".join(q["sql"] for q in queries.captured_queries)
    assert durable_commits(queries.captured_queries) == 1, everything
    sql = statements(queries.captured_queries)
    # the key, the escalation, its lock, "taken already?" with the last position, the message's
    # INSERT, the record's INSERT (before: the publish fields read back too, 7)
    assert len(sql) == 6, "\n".join(sql)
    inserts = [s.split('"')[1] for s in sql if s.startswith("INSERT")]
    assert inserts == ["conversations_escalationmessage", "conversations_botapirequest"]
    # the key's read joins its connection for the status alone, not its row nor the tenant
    key_read = sql[0]
    assert 'FROM "connections_botapikey"' in key_read
    selected = key_read.split(" FROM ")[0]
    assert "tenants_tenant" not in key_read and selected.count('"connections_connection".') == 1, key_read
    assert records(esc) == [(202, ""), (202, "")]


def test_a_retry_a_refusal_and_a_disconnected_key_are_recorded_after_the_answer(client, esc_and_key):
    esc, key = esc_and_key
    with captured_jobs(as_worker=True):
        assert send(client, key, esc, text="bye", client_message_id="m-9").status_code == 202
        assert send(client, key, esc, text="bye", client_message_id="m-9").status_code == 200
        esc.status = EscalationStatus.CLOSED
        esc.save(update_fields=["status"])
        assert send(client, key, esc, text="late", client_message_id="m-10").status_code == 409
        esc.connection.status = ConnectionStatus.DISCONNECTED
        esc.connection.save(update_fields=["status"])
        refused = send(client, key, esc, text="later", client_message_id="m-11")
    assert refused.status_code == 401 and "disconnected" in refused.json()["message"]
    assert records(esc) == [(202, ""), (200, ""), (409, "escalation_closed")]  # a 401 has no tenant's key


def test_a_record_that_cannot_be_written_fails_the_message_with_it(client, esc_and_key):
    esc, key = esc_and_key
    real_save = BotApiRequest.save
    calls = []

    def first_fails(self, *args, **kwargs):
        calls.append(self.status_code)
        if len(calls) == 1:
            raise DatabaseError("disk full")
        return real_save(self, *args, **kwargs)

    with (
        captured_jobs(as_worker=True),
        mock.patch.object(BotApiRequest, "save", first_fails),
        pytest.raises(DatabaseError),
    ):
        client.raise_request_exception = True
        send(client, key, esc, text="lost", client_message_id="m-1")
    # neither the message nor a 202 record stayed; the failed call is recorded after it, as a 500
    assert not EscalationMessage.objects.filter(escalation=esc).exists()
    assert calls == [202, 500]
    assert records(esc) == [(500, "")]
