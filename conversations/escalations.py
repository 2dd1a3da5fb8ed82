"""Bot-side services: start an escalation, add a message, close it.

Views validate the input shape; these functions own the rules. Rows are written first (the
escalation and its messages, publish_status pending, in position order) and a Celery task then
publishes them (conversations/tasks/publishing.py), after commit. So a request never waits for a
whole transcript to reach HubSpot, a crash between steps loses nothing, and a retried task
resumes where the queue stopped. A broker that is down when the task is queued costs the bot
nothing either: its answer is the normal one and the beat sweeps (sweep_pending_publishes,
sweep_owed_thread_closes) send what is stored once the broker is back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from connections import business_hours
from connections.hubspot import (
    RETRYABLE_ERRORS,
    HubSpotAuthError,
    HubSpotClient,
    HubSpotError,
    Transport,
)
from connections.hubspot.scopes import CONTACT_WRITE_SCOPE
from connections.models import BotApiKey, ConnectedInbox, InboxState
from conversations import lifecycle, watchdogs
from conversations.models import (
    CloseReason,
    Escalation,
    EscalationMessage,
    EscalationStatus,
    MessageDirection,
    PublishStatus,
)
from conversations.models.escalations import ACTIVE_STATUSES
from conversations.phones import PhoneNumberError, phone_region, same_number, to_e164
from core import jobs

log = logging.getLogger(__name__)


class EscalationError(Exception):
    """A refusal for the bot: HTTP status, error code, person-readable message."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass
class ContactCheck:
    contact_id: str | None
    searched: str  # for messages: "the phone +44… (searched phone and mobilephone)"
    # Further contacts with the same identifier (a CRM's duplicates), recorded on the escalation.
    others: list[str] = field(default_factory=list)
    name: str = ""
    email: str = ""
    phone: str = ""

    def apply_to(self, esc: Escalation) -> dict:
        """The contact's fields as HubSpot knows them, set on `esc`; returns them for an UPDATE."""
        fields = {
            "hubspot_contact_id": self.contact_id or "",
            "other_contact_ids": list(self.others),
            "contact_name": self.name[:200],
            "contact_email": self.email[:254],
            "contact_phone": self.phone[:40],
        }
        for name, value in fields.items():
            setattr(esc, name, value)
        return fields


CONTACT_PROPERTIES = ("firstname", "lastname", "email", "phone", "mobilephone")


def _contact_check(ranked: list[dict], searched: str) -> ContactCheck:
    """The first of `ranked` (best first) with its fields as HubSpot knows them; the rest as others."""
    if not ranked:
        return ContactCheck(None, searched)
    found = ranked[0]
    props = found.get("properties") or {}
    name = " ".join(
        part
        for part in ((props.get("firstname") or "").strip(), (props.get("lastname") or "").strip())
        if part
    )
    return ContactCheck(
        str(found["id"]),
        searched,
        others=[str(other["id"]) for other in ranked[1:]],
        name=name,
        email=(props.get("email") or "").strip(),
        phone=_e164_or_as_is((props.get("phone") or props.get("mobilephone") or "").strip()),
    )


def _e164_or_as_is(phone: str) -> str:
    # HubSpot keeps phones as typed ("+44 7700 900001"); the console's search matches E.164.
    try:
        return to_e164(phone) if phone else ""
    except PhoneNumberError:
        return phone


def sender_identity(esc: Escalation) -> tuple[str, str]:
    """(delivery identifier type, value) that identifies the user to HubSpot.

    The phone wins when both are given (it is what the issue's channel was built around); the
    contact check searches the same identifier, so what we check is what HubSpot will match.
    """
    if esc.user_phone:
        return "HS_PHONE_NUMBER", esc.user_phone
    return "HS_EMAIL_ADDRESS", esc.user_email


def find_contact(client: HubSpotClient, esc: Escalation) -> ContactCheck:
    """Search the CRM for the user. Raises RETRYABLE_ERRORS when HubSpot cannot answer."""
    kind, value = sender_identity(esc)
    if kind == "HS_PHONE_NUMBER":
        found = client.find_contacts_by_phone(value, properties=CONTACT_PROPERTIES, limit=10)
        ids = phone_matches(found, value)
        searched = f"the phone {value} (searched phone and mobilephone)"
    else:
        found = client.find_contacts_by_email(value, properties=CONTACT_PROPERTIES, limit=10)
        ids = sorted((str(r["id"]) for r in found), key=_id_order)
        searched = f"the email {value} (searched email)"
    by_id = {str(result["id"]): result for result in found}
    return _contact_check([by_id[contact_id] for contact_id in ids], searched)


def _id_order(contact_id: str) -> tuple[int, str]:
    return (int(contact_id), "") if contact_id.isdigit() else (2**63, contact_id)


def phone_matches(results: list[dict], e164: str) -> list[str]:
    """Contact ids whose phone or mobile phone is `e164` once normalised, best first.

    HubSpot's searchable phone properties hold the national digits only, so a search can also
    return a number of another country with the same digits: each result's typed value is parsed
    (in the user's country when typed without one) and kept only if it is the same number.
    Several left: the one whose `phone` matches before one matching by `mobilephone` only, then
    the oldest contact (lowest id), which is where a CRM's history usually is.
    """
    region = phone_region(e164)
    ranked = []
    for result in results:
        props = result.get("properties") or {}
        for rank, name in enumerate(("phone", "mobilephone")):
            if same_number(props.get(name) or "", e164, region):
                ranked.append(((rank, *_id_order(str(result["id"]))), str(result["id"])))
                break
    return [contact_id for _, contact_id in sorted(ranked)]


def missing_create_scope_message(connection) -> str:
    """Why `connection` may not create contacts, or "" when it may."""
    if CONTACT_WRITE_SCOPE in (connection.scopes or []):
        return ""
    return (
        f"No HubSpot contact matches and this connection may not create one: its grant lacks "
        f"{CONTACT_WRITE_SCOPE} (add it to the app's scopes and reconnect)."
    )


def new_contact_properties(esc: Escalation) -> dict:
    """The contact HubSpot gets for an unknown user, from what the bot gave."""
    first, _, last = esc.user_name.strip().partition(" ")
    return {"firstname": first, "lastname": last, "phone": esc.user_phone, "email": esc.user_email}


def create_contact(client: HubSpotClient, esc: Escalation) -> str:
    """The connection creates unknown users (request time): the new contact's id.
    A refusal is the bot's 422 with HubSpot's reason (a missing scope says which)."""
    missing = missing_create_scope_message(esc.connection)
    if missing:
        raise EscalationError(422, "contact_not_found", missing)
    try:
        created = client.create_contact(new_contact_properties(esc))
    except RETRYABLE_ERRORS as exc:
        raise EscalationError(
            503, "hubspot_unavailable", f"HubSpot could not create the contact: {exc}"
        ) from None
    except HubSpotError as exc:
        raise EscalationError(
            422, "contact_not_found", f"HubSpot refused to create the contact: {exc}"
        ) from None
    return str(created["id"])


def request_time_client(connection) -> HubSpotClient:
    """A client for calls a bot waits on: one quick retry, not the task's patient backoff
    (a failure here is not final: the start is accepted and the publish task searches again)."""
    return HubSpotClient.for_connection(connection, transport=Transport(max_retries=1, max_total_sleep=2.0))


def contact_not_found_message(check: ContactCheck) -> str:
    return f"No HubSpot contact has {check.searched}."


def _default_inbox(connection) -> ConnectedInbox | None:
    return (
        ConnectedInbox.objects.filter(connection=connection, state=InboxState.ACTIVE)
        .order_by("position", "id")
        .first()
    )


def _pick_inbox(connection, inbox_id: int | None) -> ConnectedInbox:
    if inbox_id is None:
        inbox = _default_inbox(connection)
        if inbox is None:
            raise EscalationError(
                409,
                "no_inbox",
                "This connection has no connected HubSpot inbox yet; ask an admin to connect one.",
            )
        return inbox
    inbox = ConnectedInbox.objects.filter(connection=connection, inbox_id=inbox_id).first()
    if inbox is None:
        known = list(
            ConnectedInbox.objects.filter(connection=connection, state=InboxState.ACTIVE).values_list(
                "inbox_id", flat=True
            )
        )
        raise EscalationError(
            400,
            "unknown_inbox",
            f"inbox_id: {inbox_id} is not an inbox of this connection (connected: {known or 'none'}).",
        )
    if inbox.state != InboxState.ACTIVE or not inbox.channel_account_id:
        raise EscalationError(
            409, "inbox_not_ready", f"inbox_id: {inbox_id} is not connected yet ({inbox.state})."
        )
    return inbox


def refuse_when_closed(inbox: ConnectedInbox, now: dt.datetime) -> None:
    """409 outside_business_hours when the inbox is closed now (checked before the contact search:
    nothing is stored and HubSpot is not called for a start that is refused)."""
    schedule = business_hours.schedule_for(inbox)
    if schedule.is_open(now):
        return
    opening = schedule.next_opening(now)
    when = opening.astimezone(schedule.zone) if opening else None
    raise EscalationError(
        409,
        "outside_business_hours",
        f"The inbox is closed now; it opens again {when:%A %d %B %Y at %H:%M} ({schedule.time_zone})."
        if when
        else "The inbox is closed and has no opening in the coming year.",
        next_opening_at=opening.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if opening else None,
        opens_in_seconds=max(0, round((opening - now).total_seconds())) if opening else None,
        next_opening_local=when.isoformat() if when else None,
        time_zone=schedule.time_zone,
        inbox_id=inbox.inbox_id,
    )


def existing_for(key: BotApiKey, *, conversation_id: str, idempotency_key: str) -> Escalation | None:
    """The escalation a repeated start should return: same Idempotency-Key, or still active."""
    qs = Escalation.objects.filter(connection_id=key.connection_id).select_related("inbox")
    if idempotency_key:
        found = qs.filter(idempotency_key=idempotency_key).first()
        if found:
            return found
    return qs.filter(conversation_id=conversation_id, status__in=ACTIVE_STATUSES).first()


def _transcript_times(transcript: list[dict], now: dt.datetime) -> tuple[dt.datetime, list[dt.datetime]]:
    """Times for the intro and each entry, never decreasing and never in the future.

    HubSpot (and the sandbox) order a thread by message timestamp, so keeping the original times
    must not reorder the history: the intro takes the earliest time, and an entry without `at` or
    earlier than the one before takes the previous time.
    """
    given = [min(e["at"], now) for e in transcript if e.get("at")]
    intro_at = min(given) if given else now
    times, previous = [], intro_at
    for entry in transcript:
        at = min(entry.get("at") or previous, now)
        previous = max(at, previous)
        times.append(previous)
    return intro_at, times


def intro_text(name: str, title: str, description: str) -> str:
    lines = [f"{name} needs help: {title}"]
    if description:
        lines += ["", description]
    return "\n".join(lines)


def transcript_text(role: str, text: str) -> str:
    # The agent sees one visitor in the thread; the prefix says who actually wrote the line.
    return f"{'Bot' if role == 'bot' else 'User'}: {text}"


def start(key: BotApiKey, data: dict, *, idempotency_key: str = "") -> tuple[Escalation, bool]:
    """Create an escalation and queue its first messages. Returns (escalation, created)."""
    connection = key.connection
    found = existing_for(key, conversation_id=data["conversation_id"], idempotency_key=idempotency_key)
    if found:
        return found, False
    inbox = _pick_inbox(connection, data.get("inbox_id"))
    if connection.outside_hours == "refuse":
        refuse_when_closed(inbox, timezone.now())
    user = data["user"]
    esc = Escalation(
        connection=connection,
        inbox=inbox,
        api_key=key,
        conversation_id=data["conversation_id"],
        idempotency_key=idempotency_key,
        user_name=user["name"],
        user_phone=user.get("phone", ""),
        user_email=user.get("email", ""),
        title=data["title"],
        description=data.get("description", ""),
        locale=data.get("locale", ""),
        metadata=data.get("metadata") or {},
        callback_url=data.get("callback_url") or getattr(connection, "callback_url", "") or "",
    )

    # Checked before anything is stored: an unknown user is the bot's to fix (422), and the old
    # integration let such escalations vanish silently. If HubSpot cannot answer
    # now we accept and the publish task checks again (failing with an event if still unknown).
    try:
        check = find_contact(request_time_client(connection), esc)
    except RETRYABLE_ERRORS as exc:
        log.warning("contact search deferred for connection %s: %s", connection.pk, exc)
        check = None
    except HubSpotAuthError as exc:
        raise EscalationError(
            503,
            "connection_error",
            f"The HubSpot connection cannot be used ({exc}); an admin has to reconnect it in the portal.",
        ) from None
    except HubSpotError as exc:
        raise EscalationError(502, "hubspot_error", f"HubSpot refused the contact search: {exc}") from None
    if check is not None:
        if not check.contact_id and connection.unknown_contact == "create":
            check.contact_id = create_contact(request_time_client(connection), esc)
            esc.contact_created = True
        if not check.contact_id:
            raise EscalationError(422, "contact_not_found", contact_not_found_message(check))
        check.apply_to(esc)

    if connection.reopen_policy == "same_thread":
        _continue_closed_thread(esc)

    now = timezone.now()
    transcript = data.get("transcript") or []
    intro_at, times = _transcript_times(transcript, now)
    try:
        with transaction.atomic():
            esc.save()
            rows = [
                _to_agent(esc, 1, "intro", intro_text(esc.user_name, esc.title, esc.description), intro_at)
            ]
            for index, (entry, at) in enumerate(zip(transcript, times, strict=True), start=2):
                rows.append(
                    _to_agent(esc, index, entry["role"], transcript_text(entry["role"], entry["text"]), at)
                )
            EscalationMessage.objects.bulk_create(rows)
            transaction.on_commit(lambda: schedule_publish(esc.pk))
    except IntegrityError:
        # A concurrent start for the same conversation or key won the race: return its row.
        found = existing_for(key, conversation_id=data["conversation_id"], idempotency_key=idempotency_key)
        if found:
            return found, False
        raise
    return esc, True


def _continue_closed_thread(esc: Escalation) -> None:
    """Reopen policy "same_thread": the new escalation continues the conversation's last closed
    HubSpot thread (same integrationThreadId, so HubSpot threads the new messages there; the
    publish task sets the thread back to OPEN first). A new thread instead when the last one is in
    another inbox (a thread belongs to one) or its close is still owed (that close would shut the
    reopened thread again)."""
    previous = (
        Escalation.objects.filter(
            connection=esc.connection, conversation_id=esc.conversation_id, status=EscalationStatus.CLOSED
        )
        .exclude(hubspot_thread_id="")
        .order_by("-closed_at", "-created_at")
        .first()
    )
    if previous is None or previous.inbox_id != esc.inbox_id or previous.hubspot_close_pending:
        return
    esc.reopened_from = previous
    esc.reopens_thread_id = previous.hubspot_thread_id
    esc.integration_thread_id = previous.integration_thread_id


def _to_agent(
    esc: Escalation, position: int, role: str, text: str, at: dt.datetime, **fields
) -> EscalationMessage:
    return EscalationMessage(
        escalation=esc,
        position=position,
        direction=MessageDirection.TO_AGENT,
        role=role,
        text=text,
        sent_at=at,
        publish_status=PublishStatus.PENDING,
        **fields,
    )


def ensure_open_for_messages(esc: Escalation) -> None:
    if esc.status in (EscalationStatus.CLOSED, EscalationStatus.FAILED):
        raise EscalationError(
            409, "escalation_closed", f"The escalation is {esc.status}; start a new one to reach an agent."
        )


def existing_message(esc: Escalation, client_message_id: str) -> EscalationMessage | None:
    if not client_message_id:
        return None
    # At most one row (unique per escalation): no ordering, so no join for the model's ordering.
    return esc.messages.filter(client_message_id=client_message_id).order_by().first()


def add_message(
    esc: Escalation,
    *,
    text: str,
    attachments: list[dict],
    client_message_id: str = "",
    with_new: Callable[[EscalationMessage], None] | None = None,
) -> tuple[EscalationMessage, bool]:
    """Append a user message after everything already queued. Returns (message, created).

    A message already taken with this `client_message_id` is returned as it is (created False),
    even once the escalation is closed: a retry of an accepted message is answered the same.
    Otherwise a closed or failed escalation refuses it (409).

    `with_new(message)` runs in the transaction that stores a new message, after its INSERT, so
    what it writes commits (or not) with the message: the bot API records the request so."""
    try:
        with transaction.atomic():
            # The escalation row lock serialises positions with agent messages (lifecycle does the same).
            # Only the status is read: the send path's CPU went to building its 55 columns.
            locked = Escalation.objects.select_for_update().only("id", "status").get(pk=esc.pk)
            # "Taken already?" and the last position in one statement.
            taken = {}
            if client_message_id:
                taken["taken"] = Max("pk", filter=Q(client_message_id=client_message_id))
            seen = locked.messages.aggregate(last=Max("position"), **taken)
            if seen.get("taken") is not None:
                return EscalationMessage.objects.get(pk=seen["taken"]), False
            ensure_open_for_messages(locked)
            last = seen["last"] or 0
            message = _to_agent(
                locked,
                last + 1,
                "user",
                text,
                timezone.now(),
                attachments=attachments,
                client_message_id=client_message_id,
            )
            message.save()
            if with_new is not None:
                with_new(message)
            transaction.on_commit(lambda: schedule_publish(esc.pk))
    except IntegrityError:
        found = existing_message(esc, client_message_id)
        if found:
            return found, False
        raise
    return message, True


def close(esc: Escalation, *, reason: str = CloseReason.BOT_CLOSED, by=None) -> bool:
    """Close the escalation now and the HubSpot thread in a task. Returns True if it changed.

    The bot's intent is final at once (no more messages accepted, `escalation.closed` emitted);
    closing the thread at HubSpot is retried in the background, so a HubSpot outage cannot make
    the bot's close fail or hang. That the thread close is owed is stored with the close itself
    (`hubspot_close_pending`), so a task lost to a broker outage, or an eager run that could not
    reach HubSpot, is re-queued by `sweep_owed_thread_closes`.

    `reason` says on whose behalf (the bot, the end user, an admin: `by` is that admin).
    """
    with transaction.atomic():
        if reason == CloseReason.USER_ENDED:
            # The user gave up waiting: an SLA breach for the support leads, recorded (with its
            # event) before the close event.
            locked = Escalation.objects.select_for_update().get(pk=esc.pk)
            watchdogs.record_user_left(locked, at=timezone.now())
        changed = lifecycle.mark_closed(esc, reason=reason, by=by)
        if changed:
            Escalation.objects.filter(pk=esc.pk).update(hubspot_close_pending=True, closed_by=by)
            esc.hubspot_close_pending = True
            esc.closed_by = by
            transaction.on_commit(lambda: schedule_close_thread(esc.pk))
    return changed


# Both run after commit (or from a sweep): a broker that cannot take the task leaves the work
# stored for the sweeps (core/jobs.py), so the bot still gets its 2xx.


def schedule_publish(escalation_id) -> None:
    jobs.enqueue(jobs.PUBLISH_ESCALATION, str(escalation_id), what=f"publish of escalation {escalation_id}")


def schedule_close_thread(escalation_id) -> None:
    jobs.enqueue(
        jobs.CLOSE_HUBSPOT_THREAD, str(escalation_id), what=f"thread close of escalation {escalation_id}"
    )
