"""The admin's home page: what needs a person now, for the organisations the viewer works for.

Instead of Django's model index, the home page leads with figures, each a link to the list that
shows those rows: waiting now (and the oldest wait), assigned, today's volume, failures that need
action (failed escalations of the last 24 hours, callbacks the bot never got, HubSpot events that
failed), and, for those who manage connections, connections whose set-up is incomplete. Every
figure is counted through the ModelAdmin that shows the list it links to, so it covers exactly the
rows the viewer may see there, and a figure whose list the viewer cannot open is not shown.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone

HOME_TEMPLATE = "admin/home.html"


def _admin_for(site, model, request):
    model_admin = site._registry.get(model)
    if model_admin is None or not model_admin.has_view_permission(request):
        return None
    return model_admin


def _url(name: str, query: str = "") -> str:
    return reverse(f"admin:{name}") + (f"?{query}" if query else "")


def figures(site, request) -> dict:
    from connections.models import Connection, ConnectionStatus
    from connections.readiness import readiness
    from conversations.models import (
        DeliveryStatus,
        Escalation,
        EscalationEvent,
        EscalationStatus,
        HubSpotEvent,
    )

    now = timezone.now()
    today = timezone.localdate(now)
    cards: list[dict] = []
    problems: list[dict] = []

    escalations = _admin_for(site, Escalation, request)
    if escalations is not None:
        qs = escalations.get_queryset(request)
        waiting = Q(status__in=(EscalationStatus.REQUESTED, EscalationStatus.OPEN))
        start_of_day = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
        counts = qs.aggregate(
            waiting=Count("pk", filter=waiting),
            oldest=Min("created_at", filter=waiting),
            assigned=Count("pk", filter=Q(status=EscalationStatus.ASSIGNED)),
            today=Count("pk", filter=Q(created_at__gte=start_of_day)),
            failed=Count(
                "pk", filter=Q(status=EscalationStatus.FAILED, failed_at__gte=now - dt.timedelta(hours=24))
            ),
        )
        list_name = "conversations_escalation_changelist"
        cards += [
            {
                "key": "waiting",
                "label": "Waiting for an agent",
                "value": counts["waiting"],
                "since": counts["oldest"],
                "note": "oldest:" if counts["oldest"] else "nobody is waiting",
                "url": _url(list_name, "status__in=requested,open"),
                "tone": "warn" if counts["waiting"] else "ok",
            },
            {
                "key": "assigned",
                "label": "With an agent",
                "value": counts["assigned"],
                "url": _url(list_name, "status__exact=assigned"),
                "tone": "ok",
            },
            {
                "key": "today",
                "label": "Escalations today",
                "value": counts["today"],
                "url": _url(list_name, f"created_from={today.isoformat()}"),
                "tone": "idle",
            },
        ]
        if counts["failed"]:
            problems.append(
                {
                    "key": "failed_escalations",
                    "label": f"{counts['failed']} escalation{'s' if counts['failed'] != 1 else ''} "
                    "failed in the last 24 hours",
                    "url": _url(
                        list_name,
                        f"status__exact=failed&created_from={(today - dt.timedelta(days=1)).isoformat()}",
                    ),
                }
            )

    events = _admin_for(site, EscalationEvent, request)
    if events is not None:
        given_up = events.get_queryset(request).filter(delivery_status=DeliveryStatus.FAILED).count()
        if given_up:
            problems.append(
                {
                    "key": "callbacks",
                    "label": f"{given_up} callback{'s' if given_up != 1 else ''} the bot never received",
                    "url": _url("conversations_escalationevent_changelist", "delivery_status__exact=failed"),
                }
            )
    hubspot_events = _admin_for(site, HubSpotEvent, request)
    if hubspot_events is not None:
        failed = hubspot_events.get_queryset(request).filter(status=HubSpotEvent.Status.FAILED).count()
        if failed:
            problems.append(
                {
                    "key": "hubspot_events",
                    "label": f"{failed} HubSpot event{'s' if failed != 1 else ''} failed to process",
                    "url": _url("conversations_hubspotevent_changelist", "status=failed"),
                }
            )

    connections = None
    connection_admin = _admin_for(site, Connection, request)
    if connection_admin is not None:
        rows = list(
            connection_admin.get_queryset(request).select_related("app", "tenant").order_by("name")[:50]
        )
        connections = []
        for connection in rows:
            if connection.status == ConnectionStatus.DISCONNECTED:
                continue
            ready = readiness(connection)
            connections.append(
                {
                    "name": str(connection.name or f"Portal {connection.portal_id}"),
                    "tenant": connection.tenant.name,
                    "status": connection.get_status_display(),
                    "ready": ready.ready and connection.status == ConnectionStatus.ACTIVE,
                    "done": ready.done,
                    "steps": len(ready.steps),
                    "next": ready.remaining[0].label if ready.remaining else "",
                    "url": reverse("admin:connections_connection_change", args=[connection.pk])
                    + "#readiness",
                }
            )
    return {
        "home_cards": cards,
        "home_problems": problems,
        "home_connections": connections,
        "home_has_escalations": escalations is not None,
        "home_dashboard_url": _url("conversations_dashboard") if escalations is not None else "",
    }


def dashboard(request, context: dict) -> dict:
    """The admin theme's DASHBOARD_CALLBACK (settings UNFOLD): the home page's figures."""
    from django.contrib import admin

    return {**context, **figures(admin.site, request)}


def install(site) -> None:
    """Make `site`'s index the home page (once; before its URLs are built). The figures come from
    `dashboard`, which the theme calls for the index."""
    site.index_template = HOME_TEMPLATE
