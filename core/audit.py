"""Recording who did what: one call per action, from admin views, commands and tasks alike."""

import logging

from core.models import AuditLogEntry

logger = logging.getLogger("audit")


def record(
    action: str,
    *,
    actor=None,
    actor_label: str = "",
    tenant=None,
    target=None,
    outcome: str = AuditLogEntry.Outcome.SUCCESS,
    message: str = "",
    details: dict | None = None,
) -> AuditLogEntry:
    """Write an audit entry. `details` must never carry secrets (it is shown in the admin)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    entry = AuditLogEntry.objects.create(
        tenant=tenant,
        actor=actor,
        actor_label=actor_label or (actor.get_username() if actor is not None else "system"),
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        outcome=outcome,
        message=message,
        details=details or {},
    )
    logger.info("%s %s by %s: %s", action, outcome, entry.actor_label, message)
    return entry
