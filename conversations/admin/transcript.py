"""An escalation's messages as chat lines for the detail page: who wrote it, what, attachments,
and where it stands with HubSpot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from conversations.models import Escalation, EscalationMessage, PublishStatus

# Transcript lines are sent to HubSpot as "User: …" / "Bot: …" (escalations.transcript_text) so
# the agent can tell them apart; the chat shows the author as the bubble's label instead.
PREFIXES = {"user": "User: ", "bot": "Bot: "}
PUBLISH_TONES = {
    PublishStatus.PENDING: "busy",
    PublishStatus.PUBLISHED: "ok",
    PublishStatus.FAILED: "bad",
    PublishStatus.RECEIVED: "ok",
}


@dataclass
class Line:
    position: int
    side: str  # "them" (user, bot, intro) or "agent"
    role: str
    author: str
    text: str
    at: dt.datetime
    publish_status: str
    publish_label: str
    publish_tone: str
    publish_error: str = ""
    attachments: list[dict] = field(default_factory=list)


def _author(esc: Escalation, m: EscalationMessage) -> str:
    if m.role == "agent":
        return esc.agent_name or m.agent_actor_id or "Agent"
    if m.role == "intro":
        return "Hand-off to HubSpot"
    if m.role == "bot":
        return "Bot"
    return esc.user_name or "User"


def _text(esc: Escalation, m: EscalationMessage, intro_created) -> str:
    prefix = PREFIXES.get(m.role)
    # Only transcript lines (written with the intro, in the start request) carry the prefix.
    from_start = intro_created is not None and abs((m.created_at - intro_created).total_seconds()) < 2
    if prefix and from_start and m.text.startswith(prefix):
        return m.text[len(prefix) :]
    return m.text


def _safe_url(value) -> str:
    # Only web links become <a href>: a stored "javascript:" URL must not run in an admin's session.
    text = str(value or "")
    return text if text.startswith(("https://", "http://")) else ""


def chat_lines(esc: Escalation, messages: list[EscalationMessage]) -> list[Line]:
    intro_created = next((m.created_at for m in messages if m.role == "intro"), None)
    lines = []
    for m in messages:
        files = [
            {"name": a.get("name") or "attachment", "url": _safe_url(a.get("url")), "size": a.get("size")}
            for a in m.attachments or []
            if isinstance(a, dict)
        ]
        lines.append(
            Line(
                position=m.position,
                side="agent" if m.role == "agent" else ("intro" if m.role == "intro" else "them"),
                role=m.role,
                author=_author(esc, m),
                text=_text(esc, m, intro_created),
                at=m.sent_at,
                publish_status=m.publish_status,
                publish_label=m.get_publish_status_display(),
                publish_tone=PUBLISH_TONES.get(m.publish_status, "idle"),
                publish_error=m.publish_error,
                attachments=files,
            )
        )
    return lines
