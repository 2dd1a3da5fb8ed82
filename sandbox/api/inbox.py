"""The Conversations inbox API: inboxes, channels, threads, thread messages, actors (§6).

No SDK covers these; shapes follow HubSpot's "Conversations Inbox & Messages" spec. Threads and
thread messages page forward only (no `total`), inboxes and channels carry `total`.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from sandbox import domain
from sandbox.api import auth
from sandbox.api.endpoint import endpoint, json_body, no_content, ok, route
from sandbox.api.errors import ApiError, not_found, validation_error
from sandbox.api.params import flag, ints, list_page, parse_timestamp
from sandbox.api.validation import boolean, integer_id, one_of, require, string
from sandbox.models import (
    SandboxActor,
    SandboxChannel,
    SandboxFile,
    SandboxInbox,
    SandboxMessage,
    SandboxThread,
)
from sandbox.serializers import actor_json, inbox_json, iso, message_json, thread_json

READ = ("conversations.read",)
WRITE = ("conversations.write",)
THREAD_STATUSES = ("OPEN", "CLOSED")


# Inboxes and channels ---------------------------------------------------------------------------


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def list_inboxes(request):
    inboxes = SandboxInbox.objects.filter(portal=request.caller.portal, archived=flag(request, "archived"))
    return ok(list_page(request, inboxes.order_by("inbox_id"), inbox_json))


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_inbox(request, inbox_id: int):
    inbox = SandboxInbox.objects.filter(portal=request.caller.portal, inbox_id=inbox_id).first()
    if inbox is None or (inbox.archived and not flag(request, "archived")):
        raise not_found(f"Inbox {inbox_id} not found", inboxId=inbox_id)
    return ok(inbox_json(inbox))


def _portal_channels(request):
    """Channels with an account in this portal: what the portal's inbox can receive from."""
    return SandboxChannel.objects.filter(accounts__portal=request.caller.portal, archived=False).distinct()


def public_channel_json(channel: SandboxChannel) -> dict:
    return {"id": str(channel.pk), "name": channel.name}


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def list_channels(request):
    return ok(list_page(request, _portal_channels(request).order_by("id"), public_channel_json))


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_channel(request, channel_id: int):
    channel = _portal_channels(request).filter(pk=channel_id).first()
    if channel is None:
        raise not_found(f"Channel {channel_id} not found", channelId=channel_id)
    return ok(public_channel_json(channel))


# Threads ----------------------------------------------------------------------------------------


def portal_thread(request, thread_id: int, *, archived: bool | None = None) -> SandboxThread:
    threads = SandboxThread.objects.select_related("inbox", "channel__app", "portal").filter(
        portal=request.caller.portal
    )
    if archived is None:
        archived = flag(request, "archived")
    if not archived:
        threads = threads.filter(archived=False)
    thread = threads.filter(pk=thread_id).first()
    if thread is None:
        raise not_found(f"Thread {thread_id} not found", threadId=thread_id)
    return thread


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def list_threads(request):
    threads = SandboxThread.objects.select_related("inbox").filter(
        portal=request.caller.portal, archived=flag(request, "archived")
    )
    inbox_ids = ints(request, "inboxId")
    if inbox_ids:
        threads = threads.filter(inbox__inbox_id__in=inbox_ids)
    status = request.GET.get("threadStatus")
    if status:
        threads = threads.filter(status=one_of(status, THREAD_STATUSES, "threadStatus", "ThreadStatus"))
    contact_id = request.GET.get("associatedContactId")
    if contact_id:
        threads = _by_associated_contact(threads, contact_id)
    after_ts = request.GET.get("latestMessageTimestampAfter")
    if after_ts:
        threads = threads.filter(
            latest_message_at__gt=parse_timestamp(after_ts, "latestMessageTimestampAfter")
        )
    sort = request.GET.get("sort") or "id"
    orderings = {
        "id": "id",
        "-id": "-id",
        "latestMessageTimestamp": "latest_message_at",
        "-latestMessageTimestamp": "-latest_message_at",
    }
    if sort not in orderings:
        raise validation_error(f"sort must be one of {', '.join(orderings)}", field="sort")
    if sort.lstrip("-") == "latestMessageTimestamp" and not after_ts:
        # HubSpot's own rule for this sort, kept so a client that forgets it fails here too.
        raise validation_error(
            "latestMessageTimestampAfter is required when sorting by latestMessageTimestamp",
            field="latestMessageTimestampAfter",
        )
    threads = threads.order_by(orderings[sort], "id")
    return ok(list_page(request, threads, thread_json, with_total=False))


def _by_associated_contact(threads, value: str):
    if not value.isdigit():
        raise validation_error("associatedContactId must be numeric", field="associatedContactId")
    visitor = f"V-{int(value)}"
    return threads.filter(Q(contact_id=int(value)) | Q(contact__isnull=True, visitor_actor_id=visitor))


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_thread(request, thread_id: int):
    return ok(thread_json(portal_thread(request, thread_id)))


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def update_thread(request, thread_id: int):
    thread = portal_thread(request, thread_id)
    data = json_body(request)
    status = data.get("status")
    archived = boolean(data, "archived")
    if status is None and archived is None:
        raise validation_error("Nothing to update: send status and/or archived", field="status")
    if status is not None:
        one_of(status, THREAD_STATUSES, "status", "ThreadStatus")
    if thread.archived and archived is not False:
        raise ApiError(
            400, f"Thread {thread_id} is archived; restore it with archived=false", "VALIDATION_ERROR"
        )
    if archived is not None:
        domain.set_thread_archived(thread, archived)
    if status is not None:
        domain.set_thread_status(thread, status)
    return ok(thread_json(thread))


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def archive_thread(request, thread_id: int):
    domain.set_thread_archived(portal_thread(request, thread_id, archived=False), True)
    return no_content()


# Thread messages --------------------------------------------------------------------------------


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def list_thread_messages(request, thread_id: int):
    thread = portal_thread(request, thread_id)
    messages = thread.messages.select_related("thread__channel__app")
    sort = request.GET.get("sort") or "createdAt"
    if sort not in ("createdAt", "-createdAt"):
        raise validation_error("sort must be createdAt or -createdAt", field="sort")
    messages = messages.order_by("-created_at" if sort.startswith("-") else "created_at", "id")
    return ok(list_page(request, messages, message_json, with_total=False))


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_thread_message(request, thread_id: int, message_id: str):
    thread = portal_thread(request, thread_id)
    message = SandboxMessage.objects.filter(thread=thread, message_id=message_id).first()
    if message is None:
        raise not_found(f"Message {message_id} not found", messageId=message_id)
    return ok(message_json(message))


COMMENT_EGG = "PublicCommentEgg"
MESSAGE_TYPES = ("MESSAGE", "COMMENT")
COMMENT_FIELDS = ("type", "text", "richText", "attachments")
# HubSpot publishes no figure; the sandbox holds comments to the size the portal's client allows
# (contract §6.3), so an over-long body fails here as a refusal rather than passing silently.
COMMENT_TEXT_LIMIT = 65_536


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def create_thread_message(request, thread_id: int):
    """`PublicConversationsMessageEgg | PublicCommentEgg`, by `type`. Only comments are simulated:
    agents' messages come from the console, as a person in HubSpot's inbox would write them."""
    thread = portal_thread(request, thread_id)
    data = json_body(request)
    require(data, "PublicMessageEgg", "type")
    kind = one_of(data["type"], MESSAGE_TYPES, "type", "MessageType")
    if kind == "MESSAGE":
        raise ApiError(
            400,
            "The sandbox does not send MESSAGE through the inbox API; reply from its console.",
            "VALIDATION_ERROR",
        )
    unknown = sorted(set(data) - set(COMMENT_FIELDS))
    if unknown:
        raise validation_error(
            f"Unrecognized field(s) for {COMMENT_EGG}: {', '.join(unknown)} (a comment carries only "
            f"{', '.join(COMMENT_FIELDS)})",
            field=unknown[0],
        )
    require(data, COMMENT_EGG, "text", "attachments")
    text = string(data, "text", allow_empty=False)
    rich_text = string(data, "richText") or ""
    for name, value in (("text", text), ("richText", rich_text)):
        if len(value) > COMMENT_TEXT_LIMIT:
            raise validation_error(
                f"{name} is {len(value)} characters long; at most {COMMENT_TEXT_LIMIT} are allowed",
                field=name,
            )
    attachments = _comment_attachments(data["attachments"], request.caller.portal)
    actor_id = domain.ensure_integrator_actor_for_app(request.caller.app, thread.portal_id)
    message = domain.add_comment(
        thread, text=text, rich_text=rich_text, attachments=attachments, actor_id=actor_id
    )
    return ok(message_json(message), status=201)


def _comment_attachments(items, portal) -> list[dict]:
    if not isinstance(items, list):
        raise validation_error("attachments must be a list", field="attachments")
    result = []
    for index, item in enumerate(items):
        where = f"attachments[{index}]"
        if not isinstance(item, dict) or item.get("type") != "FILE":
            raise validation_error(f"{where}: a comment's attachments are FILE attachments", field=where)
        file_id = integer_id(item.get("fileId"), f"{where}.fileId")
        if not SandboxFile.objects.filter(pk=file_id, portal=portal).exists():
            raise validation_error(f"File {file_id} does not exist", field=f"{where}.fileId")
        result.append({"type": "FILE", "fileId": str(file_id)})
    return result


# Actors -----------------------------------------------------------------------------------------


def _actor(portal, actor_id: str) -> SandboxActor | None:
    return SandboxActor.objects.filter(portal=portal, actor_id=actor_id).first()


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_actor(request, actor_id: str):
    actor = _actor(request.caller.portal, actor_id)
    if actor is None:
        raise not_found(f"Actor {actor_id} not found", actorId=actor_id)
    return ok(actor_json(actor))


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def batch_read_actors(request):
    started = timezone.now()
    data = json_body(request)
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise validation_error("inputs must be a list of actor ids", field="inputs")
    results, errors = [], []
    for actor_id in dict.fromkeys(inputs):
        actor = _actor(request.caller.portal, actor_id)
        if actor is None:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Actor {actor_id} not found",
                    "context": {"ids": [actor_id]},
                    "errors": [],
                    "links": {},
                }
            )
        else:
            results.append(actor_json(actor))
    body = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started),
        "completedAt": iso(timezone.now()),
    }
    if errors:
        # HubSpot's partial success: 207 with BatchResponsePublicActorWithErrors.
        return ok(body | {"numErrors": len(errors), "errors": errors}, status=207)
    return ok(body)


inboxes = route(GET=list_inboxes)
inbox_item = route(GET=get_inbox)
channels = route(GET=list_channels)
channel_item = route(GET=get_channel)
threads = route(GET=list_threads)
thread_item = route(GET=get_thread, PATCH=update_thread, DELETE=archive_thread)
thread_messages = route(GET=list_thread_messages, POST=create_thread_message)
thread_message_item = route(GET=get_thread_message)
actor_item = route(GET=get_actor)
actors_batch = route(POST=batch_read_actors)
