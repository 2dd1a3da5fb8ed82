"""The bot API's send-message request reads only what it uses (found by profiling `make bench`'s
send-message row: the request spent most of its CPU building and reading full rows of a 55-column
escalation, twice, plus a second look for a retry and a full re-read of the new message)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connections.models import BotApiKey
from conversations.models import EscalationMessage, EscalationStatus
from tests.factories import EscalationFactory
from tests.jobs import captured_jobs, names

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent():
    with captured_jobs() as queued:
        yield queued


def send(client, key, esc, **body):
    return client.post(
        f"/api/v1/escalations/{esc.pk}/messages/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def escalation_and_key(**fields):
    esc = EscalationFactory(status=EscalationStatus.ASSIGNED, **fields)
    _, key = BotApiKey.issue(esc.connection)
    return esc, key


def test_a_message_is_stored_and_published_in_few_statements_reading_few_columns(
    client, sent, django_capture_on_commit_callbacks
):
    esc, key = escalation_and_key()
    send(client, key, esc, text="warm-up", client_message_id="w")  # the key's last use is written once
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = send(client, key, esc, text="Are you there?", client_message_id="m-1")

    assert response.status_code == 202, response.content
    assert response.json()["position"] == 2 and response.json()["publish_status"] == "pending"
    assert names(sent) == ["publish_escalation"]
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # the key, the escalation, its lock, "taken already?" with the last position, the INSERT, the
    # publish fields read back, the bot API request's record (9 before, each read a full row)
    assert len(sql) == 7, "\n".join(sql)
    escalation_reads = [s for s in sql if s.startswith("SELECT") and 'FROM "conversations_escalation"' in s]
    assert len(escalation_reads) == 2
    # neither the escalation's read nor its lock selects its 55 columns (or joins the inbox)
    assert all(s.count(",") < 5 and "JOIN" not in s for s in escalation_reads), escalation_reads
    message_reads = [
        s for s in sql if s.startswith("SELECT") and 'FROM "conversations_escalationmessage"' in s
    ]
    assert len(message_reads) == 2 and all("JOIN" not in s for s in message_reads), message_reads


def test_a_retry_is_answered_with_the_earlier_message_also_after_close(client, sent):
    esc, key = escalation_and_key()
    first = send(client, key, esc, text="bye", client_message_id="m-9")
    esc.status = EscalationStatus.CLOSED
    esc.save(update_fields=["status"])
    retried = send(client, key, esc, text="bye", client_message_id="m-9")
    late = send(client, key, esc, text="late", client_message_id="m-10")

    assert first.status_code == 202 and retried.status_code == 200
    assert retried.json() == first.json()
    assert late.status_code == 409 and late.json()["error"] == "escalation_closed"
    assert list(EscalationMessage.objects.filter(escalation=esc).values_list("text", flat=True)) == ["bye"]
