"""Browser endpoints of the connections app: HubSpot's OAuth redirect back to us."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from connections import consent
from core import audit
from core.models import AuditLogEntry
from tenants.models import Tenant


@staff_member_required
@require_GET
def oauth_callback(request):
    try:
        connection = consent.complete(request, request.GET)
    except consent.ConsentError as exc:
        audit.record(
            "connection.connect",
            actor=request.user,
            tenant=Tenant.objects.filter(pk=exc.tenant_id).first() if exc.tenant_id else None,
            outcome=AuditLogEntry.Outcome.FAILURE,
            message=str(exc),
            details={"reason": exc.code},
        )
        messages.error(request, str(exc))
        if exc.connection_id:
            return redirect(reverse("admin:connections_connection_change", args=[exc.connection_id]))
        return redirect(reverse("admin:connections_connection_changelist"))
    messages.success(
        request,
        f"Connected HubSpot portal {connection.portal_id}. Next: pick its inboxes and register the channel.",
    )
    return redirect(reverse("admin:connections_connection_change", args=[connection.pk]))
