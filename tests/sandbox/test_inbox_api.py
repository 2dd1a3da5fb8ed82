"""The Conversations inbox API (no SDK covers it): exact §6 shapes, filters, paging, updates."""

from __future__ import annotations

import re
from unittest import mock

import pytest

from sandbox import domain
from sandbox.models import SandboxActor, SandboxThread

BASE = "/conversations/v3/conversations"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ADA = {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "ada@example.com"}, "name": "Ada"}
GRACE = {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550100002"}}


@pytest.fixture
def threads(portal, channel, account):
    first, _ = domain.publish_message(
        channel, account, direction="INCOMING", text="one", senders=[ADA], integration_thread_id="t1"
    )
    domain.publish_message(
        channel,
        account,
        direction="OUTGOING",
        text="reply",
        recipients=[ADA],
        integration_thread_id="t1",
        created_by="A-1001",
        client_type="HUBSPOT",
    )
    second, _ = domain.publish_message(
        channel, account, direction="INCOMING", text="two", senders=[GRACE], integration_thread_id="t2"
    )
    return first.thread, second.thread


def test_inboxes_list_and_get(api, portal):
    body = api.get(f"{BASE}/inboxes", **portal.bearer()).json()
    assert body["total"] == 2
    support = body["results"][0]
    assert set(support) == {"id", "name", "type", "archived", "createdAt", "updatedAt"}
    assert (support["id"], support["name"], support["type"]) == (
        str(portal.seed["inbox_ids"][0]),
        "Support",
        "INBOX",
    )
    assert ISO.match(support["createdAt"])
    assert (
        api.get(f"{BASE}/inboxes/{portal.seed['inbox_ids'][1]}", **portal.bearer()).json()["type"]
        == "HELP_DESK"
    )
    assert api.get(f"{BASE}/inboxes/1", **portal.bearer()).status_code == 404


def test_channels_list_and_get(api, portal, channel, account):
    body = api.get(f"{BASE}/channels", **portal.bearer()).json()
    assert body == {"total": 1, "results": [{"id": str(channel.pk), "name": "Bot channel"}]}
    assert api.get(f"{BASE}/channels/{channel.pk}", **portal.bearer()).json()["name"] == "Bot channel"


def test_thread_shape(api, portal, threads, channel, account):
    first, _ = threads
    body = api.get(f"{BASE}/threads/{first.pk}", **portal.bearer()).json()
    ada_id = portal.seed["contacts"][0]["id"]
    assert set(body) == {
        "id",
        "inboxId",
        "status",
        "spam",
        "archived",
        "createdAt",
        "associatedContactId",
        "originalChannelId",
        "originalChannelAccountId",
        "latestMessageTimestamp",
        "latestMessageSentTimestamp",
        "latestMessageReceivedTimestamp",
    }
    assert body["id"] == str(first.pk)
    assert body["inboxId"] == str(portal.seed["inbox_ids"][0])
    assert (body["status"], body["spam"], body["archived"]) == ("OPEN", False, False)
    assert body["associatedContactId"] == str(ada_id)
    assert body["originalChannelId"] == str(channel.pk)
    assert body["originalChannelAccountId"] == str(account.pk)
    assert all(
        ISO.match(body[k]) for k in ("createdAt", "latestMessageTimestamp", "latestMessageSentTimestamp")
    )


def test_thread_list_filters_and_forward_paging(api, portal, threads):
    first, second = threads
    page = api.get(f"{BASE}/threads?limit=1", **portal.bearer()).json()
    assert "total" not in page
    assert [t["id"] for t in page["results"]] == [str(first.pk)]
    assert page["paging"]["next"]["after"] == "1"
    rest = api.get(f"{BASE}/threads?limit=1&after=1", **portal.bearer()).json()
    assert [t["id"] for t in rest["results"]] == [str(second.pk)]
    assert "paging" not in rest

    grace_id = portal.seed["contacts"][1]["id"]
    by_contact = api.get(f"{BASE}/threads?associatedContactId={grace_id}", **portal.bearer()).json()
    assert [t["id"] for t in by_contact["results"]] == [str(second.pk)]
    domain.set_thread_status(second, "CLOSED")
    closed = api.get(f"{BASE}/threads?threadStatus=CLOSED", **portal.bearer()).json()
    assert [t["id"] for t in closed["results"]] == [str(second.pk)]
    assert closed["results"][0]["closedAt"].endswith("Z")
    other_inbox = api.get(f"{BASE}/threads?inboxId={portal.seed['inbox_ids'][1]}", **portal.bearer()).json()
    assert other_inbox["results"] == []
    assert api.get(f"{BASE}/threads?threadStatus=SNOOZED", **portal.bearer()).status_code == 400
    assert api.get(f"{BASE}/threads?sort=latestMessageTimestamp", **portal.bearer()).status_code == 400


def test_patch_thread_status_emits_property_change(api, portal, threads):
    first, _ = threads
    with mock.patch("sandbox.webhooks.emit_conversation_event") as emit:
        closed = api.patch(f"{BASE}/threads/{first.pk}", {"status": "CLOSED"}, **portal.bearer())
        again = api.patch(f"{BASE}/threads/{first.pk}", {"status": "CLOSED"}, **portal.bearer())
    assert closed.status_code == again.status_code == 200
    assert closed.json()["status"] == "CLOSED"
    emit.assert_called_once()
    thread, kind = emit.call_args.args
    assert (thread.pk, kind) == (first.pk, "conversation.propertyChange")
    assert emit.call_args.kwargs == {"property_name": "status", "property_value": "CLOSED"}
    bad = api.patch(f"{BASE}/threads/{first.pk}", {"status": "DONE"}, **portal.bearer())
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["in"] == "status"


def test_archive_restore_and_delete(api, portal, threads):
    first, _ = threads
    assert api.delete(f"{BASE}/threads/{first.pk}", **portal.bearer()).status_code == 204
    assert api.get(f"{BASE}/threads/{first.pk}", **portal.bearer()).status_code == 404
    archived = api.get(f"{BASE}/threads/{first.pk}?archived=true", **portal.bearer()).json()
    assert archived["archived"] is True
    assert [
        t["id"] for t in api.get(f"{BASE}/threads?archived=true", **portal.bearer()).json()["results"]
    ] == [str(first.pk)]
    restored = api.patch(f"{BASE}/threads/{first.pk}?archived=true", {"archived": False}, **portal.bearer())
    assert restored.json()["archived"] is False
    assert SandboxThread.objects.get(pk=first.pk).archived is False


def test_thread_messages_list_and_get(api, portal, threads):
    first, _ = threads
    body = api.get(f"{BASE}/threads/{first.pk}/messages", **portal.bearer()).json()
    assert "total" not in body
    incoming, reply = body["results"]
    assert set(incoming) >= {
        "id",
        "type",
        "archived",
        "text",
        "attachments",
        "channelId",
        "channelAccountId",
        "conversationsThreadId",
        "client",
        "createdAt",
        "createdBy",
        "direction",
        "truncationStatus",
        "senders",
        "recipients",
    }
    assert (incoming["direction"], incoming["text"], incoming["type"]) == ("INCOMING", "one", "MESSAGE")
    assert reply["createdBy"] == "A-1001"
    assert reply["client"] == {"clientType": "HUBSPOT"}
    assert "status" not in reply
    newest_first = api.get(f"{BASE}/threads/{first.pk}/messages?sort=-createdAt", **portal.bearer()).json()
    assert [m["id"] for m in newest_first["results"]] == [reply["id"], incoming["id"]]
    got = api.get(f"{BASE}/threads/{first.pk}/messages/{incoming['id']}", **portal.bearer()).json()
    assert got == incoming
    assert api.get(f"{BASE}/threads/{first.pk}/messages/nope", **portal.bearer()).status_code == 404


def test_actors_get_and_batch_read(api, portal, threads):
    agent = api.get(f"{BASE}/actors/A-1001", **portal.bearer()).json()
    assert agent == {
        "id": "A-1001",
        "type": "AGENT",
        "name": "Alice Agent",
        "email": "alice.agent@demo-company.example",
    }
    integrator = api.get(f"{BASE}/actors/I-{portal.seed['app_id']}", **portal.bearer()).json()
    assert integrator == {"id": f"I-{portal.seed['app_id']}", "type": "INTEGRATOR", "name": "HITL Portal"}
    ada_id = portal.seed["contacts"][0]["id"]
    batch = api.post(f"{BASE}/actors/batch/read", {"inputs": ["A-1002", f"V-{ada_id}"]}, **portal.bearer())
    assert batch.status_code == 200
    body = batch.json()
    assert body["status"] == "COMPLETE"
    assert [a["id"] for a in body["results"]] == ["A-1002", f"V-{ada_id}"]
    assert body["results"][1] == {
        "id": f"V-{ada_id}",
        "type": "VISITOR",
        "name": "Ada",
        "email": "ada@example.com",
    }
    assert ISO.match(body["startedAt"]) and ISO.match(body["completedAt"])
    partial = api.post(f"{BASE}/actors/batch/read", {"inputs": ["A-1001", "A-9"]}, **portal.bearer())
    assert partial.status_code == 207
    assert partial.json()["numErrors"] == 1
    assert api.get(f"{BASE}/actors/A-9", **portal.bearer()).status_code == 404
    assert SandboxActor.objects.filter(type="VISITOR").count() == 2


def test_threads_of_other_portals_are_invisible(api, portal, threads):
    from sandbox.models import SandboxPortal

    first, _ = threads
    SandboxThread.objects.filter(pk=first.pk).update(
        portal=SandboxPortal.objects.create(portal_id=5, name="x")
    )
    assert api.get(f"{BASE}/threads/{first.pk}", **portal.bearer()).status_code == 404


def test_archive_emits_deletion_and_is_archived_restore_only_the_property(api, portal, threads):
    first, _ = threads
    with mock.patch("sandbox.webhooks.emit_conversation_event") as emit:
        api.delete(f"{BASE}/threads/{first.pk}", **portal.bearer())
        api.patch(f"{BASE}/threads/{first.pk}?archived=true", {"archived": False}, **portal.bearer())
    calls = [(c.args[1], c.kwargs.get("property_value")) for c in emit.call_args_list]
    assert calls == [
        ("conversation.propertyChange", "true"),
        ("conversation.deletion", None),
        ("conversation.propertyChange", "false"),
    ]
