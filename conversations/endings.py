"""Who or what ended an escalation, in one wording for the list, the detail page, the timeline,
the CSV export and the dashboard.

The assignment timeout is a failure (`no_agent`), not a close, but a support lead asks the same
question of both: why did this conversation end? An admin's close names the admin.
"""

from __future__ import annotations

from conversations.models import CloseReason, Escalation, FailureReason

ENDINGS = {
    CloseReason.USER_ENDED: "End user ended the chat",
    CloseReason.BOT_CLOSED: "Closed by the bot",
    CloseReason.AGENT_CLOSED: "Closed by the agent",
    CloseReason.ADMIN_CLOSED: "Closed by an admin",
    CloseReason.ARCHIVED: "Thread archived in HubSpot",
    CloseReason.WATCHDOG: "Closed by an SLA watchdog",
    FailureReason.NO_AGENT: "Assignment timeout (no agent in time)",
}


def ending_code(esc: Escalation) -> str:
    """close_reason, or the failure reason when it failed (no_agent is the assignment timeout)."""
    return esc.close_reason or esc.failure_reason


def ended_by(esc: Escalation) -> str:
    """ "Closed by alice" for an admin's close, the ENDINGS wording otherwise; "" while active."""
    if esc.close_reason == CloseReason.ADMIN_CLOSED and esc.closed_by_id:
        return f"Closed by {closer_name(esc)}"
    if esc.close_reason == CloseReason.AGENT_CLOSED and _agent(esc):
        return f"Closed by the agent ({_agent(esc)})"
    code = ending_code(esc)
    if code in ENDINGS:
        return ENDINGS[code]
    if esc.failure_reason:
        return f"Failed: {esc.get_failure_reason_display()}"
    return esc.get_close_reason_display() if esc.close_reason else ""


def closer_name(esc: Escalation) -> str:
    user = esc.closed_by
    if user is None:
        return "an admin"
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def _agent(esc: Escalation) -> str:
    return esc.agent_name or esc.agent_email or esc.agent_actor_id
