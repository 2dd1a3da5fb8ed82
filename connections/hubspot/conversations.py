"""Messages of custom channels (publish, status, get) and the conversations inbox (v3 only).

Publishing sends HubSpot's `ChannelIntegrationMessageEgg` (contract §5.3). A publish always
carries `integrationIdempotencyId`: HubSpot answers a repeat with the original message instead of
posting it twice, which is what lets the transport retry a publish after a 5xx or a timeout and a
Celery task re-run it. Callers pass an id that is stable across retries (e.g. our message's UUID).

Threads, thread messages, inboxes and actors exist only under /conversations/v3/conversations
(§6); see paths.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils import timezone

from connections.hubspot.channels import delivery_identifier
from connections.hubspot.paging import Page, iterate

MESSAGE_DIRECTIONS = ("INCOMING", "OUTGOING")
#: Statuses a channel may report for a message it delivered (PATCH), per the SDK docstring.
MESSAGE_STATUS_TYPES = ("SENT", "FAILED", "READ")
FILE_USAGE_TYPES = ("AUDIO", "IMAGE", "OTHER", "STICKER", "VOICE_RECORDING")
THREAD_STATUSES = ("OPEN", "CLOSED")
#: The longest comment text (and richText) the portal sends; the sandbox refuses longer (contract §6.3).
COMMENT_TEXT_LIMIT = 65_536


def participant(
    type_: str, value: str, *, name: str | None = None, sender_actor_id: str | None = None
) -> dict[str, Any]:
    """`ChannelIntegrationParticipant`: a sender or recipient, identified by a delivery identifier."""
    result: dict[str, Any] = {"deliveryIdentifier": delivery_identifier(type_, value)}
    if name:
        result["name"] = name
    if sender_actor_id:
        result["senderActorId"] = sender_actor_id
    return result


def file_attachment(file_id: int | str, *, file_usage_type: str | None = None) -> dict[str, Any]:
    """A `FILE` attachment; the file is uploaded through the Files API first (files.py)."""
    attachment: dict[str, Any] = {"type": "FILE", "fileId": str(file_id)}
    if file_usage_type is not None:
        if file_usage_type not in FILE_USAGE_TYPES:
            raise ValueError(f"unknown fileUsageType {file_usage_type!r}; expected one of {FILE_USAGE_TYPES}")
        attachment["fileUsageType"] = file_usage_type
    return attachment


def format_timestamp(value: dt.datetime | str | None) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z` (contract §0.3: both SDKs parse this form)."""
    if value is None:
        value = timezone.now()
    if isinstance(value, str):
        return value
    if timezone.is_naive(value):
        raise ValueError("timestamps sent to HubSpot must be timezone-aware")
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class MessagesAPI:
    def publish_message(
        self,
        channel_id: int | str,
        *,
        channel_account_id: int | str,
        text: str,
        senders: Sequence[dict[str, Any]],
        recipients: Sequence[dict[str, Any]],
        integration_idempotency_id: str,
        integration_thread_id: str | None = None,
        timestamp: dt.datetime | str | None = None,
        attachments: Iterable[dict[str, Any]] = (),
        rich_text: str | None = None,
        in_reply_to_id: str | None = None,
        message_direction: str = "INCOMING",
        associate_with_contact_id: int | None = None,
    ) -> dict[str, Any]:
        """Post a visitor's message into the inbox; returns `PublicConversationsMessage`, whose
        `conversationsThreadId` is the inbox thread."""
        if not integration_idempotency_id:
            raise ValueError("publish_message needs an integration_idempotency_id, stable across retries")
        if message_direction not in MESSAGE_DIRECTIONS:
            raise ValueError(f"message_direction must be one of {MESSAGE_DIRECTIONS}")
        body: dict[str, Any] = {
            "channelAccountId": str(channel_account_id),
            "messageDirection": message_direction,
            "text": text,
            "timestamp": format_timestamp(timestamp),
            # Required even when empty (contract §5.3: "send [] when none").
            "attachments": list(attachments),
            "senders": list(senders),
            "recipients": list(recipients),
            "integrationIdempotencyId": str(integration_idempotency_id),
        }
        if integration_thread_id:
            body["integrationThreadId"] = str(integration_thread_id)
        if rich_text:
            body["richText"] = rich_text
        if in_reply_to_id:
            body["inReplyToId"] = str(in_reply_to_id)
        if associate_with_contact_id is not None:
            body["associateWithContactId"] = int(associate_with_contact_id)
        return self._call("messages.publish", path_params={"channelId": channel_id}, json=body)

    def update_message_status(
        self,
        channel_id: int | str,
        message_id: str,
        status_type: str,
        *,
        error_message: str | None = None,
    ) -> dict[str, Any]:
        """Report delivery of an agent's message to the bot: SENT, FAILED (with a reason) or READ."""
        if status_type not in MESSAGE_STATUS_TYPES:
            raise ValueError(f"status_type must be one of {MESSAGE_STATUS_TYPES}")
        if not message_id:
            raise ValueError("message_id is required")
        body: dict[str, Any] = {"statusType": status_type}
        if error_message:
            body["errorMessage"] = error_message
        return self._call(
            "messages.update_status",
            path_params={"channelId": channel_id, "messageId": message_id},
            json=body,
        )

    def get_message(self, channel_id: int | str, message_id: str) -> dict[str, Any]:
        if not message_id:
            raise ValueError("message_id is required")
        return self._call("messages.get", path_params={"channelId": channel_id, "messageId": message_id})


class InboxAPI:
    """Inboxes, threads, thread messages and actors (Bearer, scopes conversations.read/.write)."""

    def list_inboxes(
        self, *, after: str | None = None, limit: int | None = None, archived: bool | None = None
    ) -> Page:
        body = self._call("inboxes.list", params={"after": after, "limit": limit, "archived": archived})
        return Page.from_body(body, "inboxes.list")

    def iter_inboxes(self, *, limit: int = 100, archived: bool | None = None) -> Iterator[dict[str, Any]]:
        return iterate(lambda after: self.list_inboxes(after=after, limit=limit, archived=archived))

    def get_thread(
        self, thread_id: int | str, *, archived: bool | None = None, association: Sequence[str] | None = None
    ) -> dict[str, Any]:
        return self._call(
            "threads.get",
            path_params={"threadId": thread_id},
            params={"archived": archived, "association": list(association) if association else None},
        )

    def update_thread(
        self, thread_id: int | str, *, status: str | None = None, archived: bool | None = None
    ) -> dict[str, Any]:
        """`PublicThreadUpdateRequest`. Restoring an archived thread (archived=False) finds it with
        `?archived=true` (contract §6.1)."""
        body: dict[str, Any] = {}
        if status is not None:
            if status not in THREAD_STATUSES:
                raise ValueError(f"status must be one of {THREAD_STATUSES}")
            body["status"] = status
        if archived is not None:
            body["archived"] = archived
        if not body:
            raise ValueError("update_thread needs status or archived")
        params = {"archived": True} if archived is False else None
        return self._call("threads.update", path_params={"threadId": thread_id}, params=params, json=body)

    def close_thread(self, thread_id: int | str) -> dict[str, Any]:
        return self.update_thread(thread_id, status="CLOSED")

    def list_threads(
        self,
        *,
        after: str | None = None,
        limit: int | None = None,
        inbox_ids: Iterable[int | str] | None = None,
        thread_status: str | None = None,
        associated_contact_id: int | str | None = None,
        latest_message_timestamp_after: dt.datetime | str | None = None,
        sort: Sequence[str] | None = None,
        archived: bool | None = None,
    ) -> Page:
        params = {
            "after": after,
            "limit": limit,
            "inboxId": [str(i) for i in inbox_ids] if inbox_ids else None,
            "threadStatus": thread_status,
            "associatedContactId": associated_contact_id,
            "latestMessageTimestampAfter": (
                format_timestamp(latest_message_timestamp_after) if latest_message_timestamp_after else None
            ),
            "sort": list(sort) if sort else None,
            "archived": archived,
        }
        return Page.from_body(self._call("threads.list", params=params), "threads.list")

    def iter_threads(self, *, limit: int = 100, **filters) -> Iterator[dict[str, Any]]:
        return iterate(lambda after: self.list_threads(after=after, limit=limit, **filters))

    def list_thread_messages(
        self,
        thread_id: int | str,
        *,
        after: str | None = None,
        limit: int | None = None,
        archived: bool | None = None,
        sort: Sequence[str] | None = None,
    ) -> Page:
        body = self._call(
            "threads.messages.list",
            path_params={"threadId": thread_id},
            params={
                "after": after,
                "limit": limit,
                "archived": archived,
                "sort": list(sort) if sort else None,
            },
        )
        return Page.from_body(body, "threads.messages.list")

    def iter_thread_messages(self, thread_id: int | str, *, limit: int = 100, **filters) -> Iterator[dict]:
        return iterate(
            lambda after: self.list_thread_messages(thread_id, after=after, limit=limit, **filters)
        )

    def get_thread_message(self, thread_id: int | str, message_id: str) -> dict[str, Any]:
        return self._call(
            "threads.messages.get", path_params={"threadId": thread_id, "messageId": message_id}
        )

    def post_comment(
        self,
        thread_id: int | str,
        text: str,
        *,
        rich_text: str | None = None,
        attachments: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """An internal comment in a thread (`PublicCommentEgg`, contract §6.3): seen by the inbox's
        users only, never sent to the visitor. `text` is the plain form (notifications, search),
        `rich_text` the HTML the inbox shows when given; `attachments` are FILE attachments.
        Returns the created `PublicMessage` of type COMMENT. Not retried by the transport after an
        ambiguous failure (no idempotency id): a caller that retries checks the thread first."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a comment needs a non-empty text")
        if len(text) > COMMENT_TEXT_LIMIT or (rich_text and len(rich_text) > COMMENT_TEXT_LIMIT):
            raise ValueError(f"a comment's text and richText are limited to {COMMENT_TEXT_LIMIT} characters")
        body: dict[str, Any] = {"type": "COMMENT", "text": text, "attachments": list(attachments)}
        if rich_text:
            body["richText"] = rich_text
        return self._call("threads.messages.create", path_params={"threadId": thread_id}, json=body)

    def get_actor(self, actor_id: str) -> dict[str, Any]:
        return self._call("actors.get", path_params={"actorId": actor_id})

    def batch_read_actors(self, actor_ids: Iterable[str]) -> dict[str, Any]:
        """`BatchResponsePublicActor`: `results` holds the actors found; a 207 adds `errors`."""
        ids = [str(a) for a in dict.fromkeys(actor_ids)]
        if not ids:
            return {"status": "COMPLETE", "results": []}
        return self._call("actors.batch_read", json={"inputs": ids})
