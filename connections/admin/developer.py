"""The "For bot developers" panel of a connection: signature scheme, a signed test event, and the
callbacks that gave up (the callback log, filtered, with its retry action)."""

from __future__ import annotations

from django.contrib import messages
from django.urls import reverse

from connections.admin.actions import action
from connections.models import Connection
from conversations import ping
from conversations.models import DeliveryStatus, EscalationEvent
from core import audit
from core.logging import redact
from core.models import AuditLogEntry


def panel(connection: Connection) -> dict:
    own = EscalationEvent.objects.filter(escalation__connection=connection)
    counts = {
        status: own.filter(delivery_status=status).count()
        for status in (DeliveryStatus.FAILED, DeliveryStatus.PENDING)
    }
    events = reverse("admin:conversations_escalationevent_changelist")
    by_connection = f"escalation__connection__id__exact={connection.pk}"
    return {
        "scheme": connection.get_callback_signature_display(),
        "failed": counts[DeliveryStatus.FAILED],
        "pending": counts[DeliveryStatus.PENDING],
        "failed_url": f"{events}?delivery_status__exact=failed&{by_connection}",
        "pending_url": f"{events}?delivery_status__exact=pending&{by_connection}",
        "docs_url": reverse("api-docs"),
    }


@action("send-test-event", "Send test event", anchor="developer")
def send_test_event(modeladmin, request, connection: Connection):
    url = (request.POST.get("url") or connection.callback_url or "").strip()
    if not url:
        messages.warning(request, "Give the callback URL to send the test event to.")
        return None
    outcome, duration_ms = ping.send(connection, url)
    shown = redact(url.split("?", 1)[0])
    answer = f" It answered: {outcome.excerpt[:300]}" if outcome.excerpt else ""
    if outcome.ok:
        result = f"delivered to {shown}: HTTP {outcome.status_code} in {duration_ms} ms."
        messages.success(request, f"Test event {result}{answer}")
    else:
        result = f"to {shown} failed: {redact(outcome.error)} ({duration_ms} ms)."
        messages.error(request, f"Test event {result}{answer}")
    audit.record(
        "connection.test_event",
        actor=request.user,
        tenant=connection.tenant,
        target=connection,
        outcome=AuditLogEntry.Outcome.SUCCESS if outcome.ok else AuditLogEntry.Outcome.FAILURE,
        message=f"Test event to {shown}: {outcome.status_code or redact(outcome.error)}",
    )
    return None
