"""Briefing the agent: an internal COMMENT in the HubSpot thread when it opens (conversations/briefing.py),
the sandbox refusing the comment bodies HubSpot would refuse, and a failing briefing never holding
the escalation up (recorded on the timeline, retried through the job layer)."""

import datetime as dt

import pytest
from django.utils import timezone

from connections.hubspot import HubSpotClient, HubSpotError
from connections.models import Connection
from conversations import timeline
from conversations.models import Escalation, EscalationStatus
from sandbox.models import SandboxBehaviour, SandboxMessage
from tests.api.conftest import start_body

pytestmark = pytest.mark.django_db(transaction=True)

METADATA = {"order": "#1042", "plan": "Gold", "basket": {"items": 3}}


def comments(esc: Escalation) -> list[SandboxMessage]:
    return list(SandboxMessage.objects.filter(thread_id=int(esc.hubspot_thread_id), type="COMMENT"))


def started(bot, **overrides) -> Escalation:
    response = bot.post("escalations/", start_body(**overrides))
    assert response.status_code == 201, response.text
    return Escalation.objects.get(pk=response.json()["id"])


def test_the_thread_gets_one_briefing_comment_with_reason_metadata_language_and_link(
    bot, client, superuser, settings
):
    esc = started(bot, description="Wants a refund.\nPaid by card.", locale="fr-FR", metadata=METADATA)

    assert esc.status == EscalationStatus.OPEN
    [comment] = comments(esc)
    link = f"{settings.PUBLIC_BASE_URL}/admin/conversations/escalation/{esc.pk}/change/"
    assert comment.text.splitlines() == [
        "Briefing from the bot (internal, not sent to the customer)",
        f"Reason: {esc.title}",
        "Wants a refund.",
        "Paid by card.",
        "Language: fr-FR",
        "Details from the bot:",
        '- basket: {"items": 3}',
        "- order: #1042",
        "- plan: Gold",
        f"Escalation in the portal: {link}",
    ]
    assert "<tr><th>order</th><td>#1042</td></tr>" in comment.rich_text
    assert f'<a href="{link}">' in comment.rich_text
    # Internal: written by the app's integrator actor, to nobody, and no channel webhook for it.
    assert comment.senders == [{"actorId": comment.created_by}] and comment.created_by.startswith("I-")
    assert comment.recipients == []
    esc.refresh_from_db()
    assert (esc.briefing_status, esc.briefing_message_id) == ("posted", comment.message_id)

    # HubSpot's API lists it as a COMMENT with text and richText.
    api = HubSpotClient.for_connection(Connection.objects.get())
    listed = [m for m in api.iter_thread_messages(esc.hubspot_thread_id) if m["type"] == "COMMENT"]
    assert [(m["id"], m["text"], m["richText"]) for m in listed] == [
        (comment.message_id, comment.text, comment.rich_text)
    ]

    # The console shows it as an internal note, apart from the visitor's messages.
    client.force_login(superuser)
    page = client.get(f"/sandbox/app/console/{comment.thread.portal.portal_id}/threads/{comment.thread_id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'class="msg comment" data-message="{comment.message_id}" data-type="COMMENT"' in html
    assert "internal comment, not sent to the visitor" in html

    entries = [e.title for e in timeline.build(esc, list(esc.messages.all()))]
    assert "Agent briefed (internal comment in the thread)" in entries


def test_every_new_escalation_is_briefed_once(bot):
    first = started(bot, conversation_id="a")
    second = started(bot, conversation_id="b", user={"name": "Grace", "email": "grace@example.com"})

    assert first.hubspot_thread_id != second.hubspot_thread_id
    assert [len(comments(first)), len(comments(second))] == [1, 1]


def test_a_long_metadata_is_cut_to_a_short_table(bot):
    metadata = {f"key{i:02}": "x" * 500 for i in range(20)}
    esc = started(bot, metadata=metadata)

    [comment] = comments(esc)
    rows = [line for line in comment.text.splitlines() if line.startswith("- ")]
    assert len(rows) == 16 and rows[-1] == "- … and 5 more in the portal"
    assert rows[0] == "- key00: " + "x" * 199 + "…"


def _fail_inbox_api(count: int, status: int) -> None:
    SandboxBehaviour.objects.filter(pk=SandboxBehaviour.current().pk).update(
        fail_next_requests=count,
        fail_status=status,
        fail_path_contains="/conversations/v3/conversations/threads/",
    )


def test_hubspot_down_never_holds_the_escalation_up_and_the_sweep_posts_it_once(bot, settings):
    from conversations.tasks.briefing import sweep_owed_briefings

    _fail_inbox_api(50, 503)
    esc = started(bot)

    # Opened and announced as usual; the briefing is owed, with HubSpot's failure kept.
    assert esc.status == EscalationStatus.OPEN
    assert [e["type"] for e in bot.get(f"escalations/{esc.pk}/events/").json()["results"]] == [
        "escalation.opened"
    ]
    esc.refresh_from_db()
    assert esc.briefing_status == "pending" and esc.briefing_attempts == 1
    assert "HubSpot unavailable, retrying" in esc.briefing_error
    assert comments(esc) == []
    [entry] = [e for e in timeline.build(esc, []) if e.title == "Briefing the agent"]
    assert entry.tone == "bad" and "503" in entry.detail

    # Not yet due for the sweep: it leaves the owed briefing to the task's own retry.
    assert sweep_owed_briefings() == 0
    _fail_inbox_api(0, 503)
    Escalation.objects.filter(pk=esc.pk).update(briefing_due_at=timezone.now() - dt.timedelta(minutes=5))
    assert sweep_owed_briefings() == 1  # eager here: the task ran in place
    assert sweep_owed_briefings() == 0
    esc.refresh_from_db()
    assert (esc.briefing_status, esc.briefing_attempts) == ("posted", 2)
    assert len(comments(esc)) == 1


def test_a_retry_after_a_lost_answer_finds_the_comment_instead_of_posting_twice(bot):
    from conversations.tasks.briefing import post_briefing

    esc = started(bot)
    # As if the first attempt's answer was lost: HubSpot has the comment, the row still owes it.
    Escalation.objects.filter(pk=esc.pk).update(briefing_status="pending", briefing_message_id="")

    post_briefing.apply(args=(str(esc.pk),))

    esc.refresh_from_db()
    [comment] = comments(esc)
    assert (esc.briefing_status, esc.briefing_message_id) == ("posted", comment.message_id)


def test_a_refused_briefing_is_recorded_and_not_retried(bot):
    from conversations.tasks.briefing import sweep_owed_briefings

    # The first inbox-API call after the publish is the comment.
    original = SandboxBehaviour.current()
    original.fail_next_requests, original.fail_status = 1, 400
    original.fail_path_contains = "/conversations/v3/conversations/threads/"
    original.save()
    esc = started(bot)

    esc.refresh_from_db()
    assert esc.status == EscalationStatus.OPEN
    assert esc.briefing_status == "failed" and esc.briefing_error.startswith("HubSpot refused the briefing")
    [entry] = [e for e in timeline.build(esc, []) if e.title == "The agent's briefing was not posted"]
    assert entry.tone == "bad"
    Escalation.objects.filter(pk=esc.pk).update(briefing_due_at=timezone.now() - dt.timedelta(hours=1))
    assert sweep_owed_briefings() == 0
    assert comments(esc) == []


# The sandbox refuses what HubSpot refuses ------------------------------------------------------

GOOD = {"type": "COMMENT", "text": "Note for the team", "attachments": []}


@pytest.mark.parametrize(
    "body, field",
    [
        ({**GOOD, "text": ""}, "text"),
        ({**GOOD, "text": "   \n"}, "text"),
        ({**GOOD, "text": 42}, "text"),
        ({k: v for k, v in GOOD.items() if k != "text"}, "text"),
        ({k: v for k, v in GOOD.items() if k != "attachments"}, "attachments"),
        ({**GOOD, "type": "NOTE"}, "type"),
        ({**GOOD, "text": "x" * 65_537}, "text"),
        ({**GOOD, "richText": "<p>" + "x" * 65_537 + "</p>"}, "richText"),
        ({**GOOD, "richText": 7}, "richText"),
        ({**GOOD, "senderActorId": "A-1"}, "senderActorId"),
        ({**GOOD, "channelId": "1", "channelAccountId": "2"}, "channelAccountId"),
        ({**GOOD, "recipients": []}, "recipients"),
        ({**GOOD, "attachments": [{"type": "QUICK_REPLIES", "quickReplies": []}]}, "attachments[0]"),
        ({**GOOD, "attachments": [{"type": "FILE", "fileId": "999999"}]}, "File 999999"),
    ],
)
def test_the_sandbox_refuses_a_comment_hubspot_would_refuse(bot, body, field):
    esc = started(bot)
    api = HubSpotClient.for_connection(Connection.objects.get())

    with pytest.raises(HubSpotError) as refused:
        api._call("threads.messages.create", path_params={"threadId": esc.hubspot_thread_id}, json=body)

    assert refused.value.status == 400
    assert field in str(refused.value) or field in str(getattr(refused.value, "body", ""))
    assert len(comments(esc)) == 1  # only the briefing


def test_the_client_posts_a_plain_comment_and_refuses_an_empty_one(bot):
    esc = started(bot)
    api = HubSpotClient.for_connection(Connection.objects.get())

    made = api.post_comment(esc.hubspot_thread_id, "Called the customer back.")

    assert made["type"] == "COMMENT" and made["text"] == "Called the customer back."
    assert made["richText"] == "<p>Called the customer back.</p>"
    with pytest.raises(ValueError):
        api.post_comment(esc.hubspot_thread_id, " ")
    assert len(comments(esc)) == 2
