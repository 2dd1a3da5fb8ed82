"""The tenant dashboard at /admin/conversations/dashboard/: figures from conversations.metrics,
charts from conversations.charts; this module only picks the tenant and period and renders.

`?tenant=<slug>` picks the organisation (default: the first the user may see) and
`?from=YYYY-MM-DD&to=YYYY-MM-DD` the period (default: the last 30 days). Superusers see every
tenant, admins and support leads their own; another tenant's slug is a 404, a malformed date a
400 that says what to write instead.

The project uses Django's default admin site, and a dashboard is not a model, so `install(site)`
adds the page's URL and its entry in the admin's app list (index and sidebar) to that site
instance: the alternative, a custom AdminSite class, would replace `django.contrib.admin` in
INSTALLED_APPS for two small additions.
"""

from __future__ import annotations

import functools
import math

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from conversations import metrics
from conversations.charts import Bar, bar_chart, column_chart, grouped_bar_chart
from conversations.models import EscalationStatus
from tenants.models import Tenant, tenant_ids_for

URL_NAME = "conversations_dashboard"
TEMPLATE = "admin/conversations/dashboard.html"


def visible_tenants(user):
    return Tenant.objects.visible_to(user).order_by("name")


def may_view(user) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    # tenant_ids_for is cached per request: the app list on every admin page adds no query.
    return user.is_superuser or bool(tenant_ids_for(user))


def dashboard_view(request, site=admin.site):
    if not may_view(request.user):
        raise PermissionDenied("Only members of an organisation see its dashboard.")
    tenants = list(visible_tenants(request.user))
    slug = request.GET.get("tenant", "").strip()
    if slug:
        tenant = next((t for t in tenants if t.slug == slug), None)
        if tenant is None:
            raise Http404("No such organisation.")
    else:
        tenant = tenants[0] if tenants else None
    context = {
        **site.each_context(request),
        "title": f"Dashboard · {tenant.name}" if tenant else "Dashboard",
        "tenants": tenants,
        "tenant": tenant,
        "form": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
    }
    try:
        period = metrics.Period.parse(request.GET.get("from"), request.GET.get("to"))
    except ValueError as exc:
        context["error"] = str(exc)
        return TemplateResponse(request, TEMPLATE, context, status=400)
    context["period"] = period
    context["form"] = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if tenant is not None:
        context.update(present(metrics.dashboard([tenant.pk], period)))
    return TemplateResponse(request, TEMPLATE, context)


def present(data: metrics.Dashboard) -> dict:
    """The figures as the template shows them: cards, charts and their tables."""
    fmt = metrics.format_duration
    labels = dict(EscalationStatus.choices)
    days = [Bar(day.strftime("%d %b"), created, str(created)) for day, created, _ in data.per_day]
    timed = [i for i in data.inboxes if i.to_assign.count or i.to_close.count]

    def timing_chart(title: str, attr: str):
        groups = [
            (
                inbox.label,
                [
                    Bar("Median", getattr(inbox, attr).median or 0, fmt(getattr(inbox, attr).median)),
                    Bar("90th percentile", getattr(inbox, attr).p90 or 0, fmt(getattr(inbox, attr).p90)),
                ],
            )
            for inbox in timed
            if getattr(inbox, attr).count
        ]
        desc = "; ".join(f"{label}: median {g[0].text}, 90th percentile {g[1].text}" for label, g in groups)
        return grouped_bar_chart(title, desc or "No data", groups, series=("Median", "90th percentile"))

    def reasons_chart(title: str, reasons):
        bars = [Bar(r.label, r.count, str(r.count)) for r in reasons]
        return bar_chart(title, "; ".join(f"{b.label}: {b.text}" for b in bars) or "None", bars)

    return {
        "data": data,
        "now_cards": [(labels[s], data.now.get(s, 0), s) for s in ("requested", "open", "assigned")],
        "period_cards": [
            ("Created", data.total, "total"),
            *((labels[s], data.statuses.get(s, 0), s) for s in EscalationStatus.values),
        ],
        "per_day_chart": column_chart(
            "Escalations per day",
            f"{data.total} escalations from {data.period.start} to {data.period.end}, "
            f"busiest day {max(data.per_day, key=lambda d: d[1])[0]:%d %b} "
            f"({max(d[1] for d in data.per_day)})."
            if data.total
            else "No escalation in the period.",
            days,
            label_every=max(1, math.ceil(len(days) / 15)),
        ),
        "inbox_rows": [
            {
                "label": i.label,
                "escalations": i.escalations,
                "assigned": i.to_assign.count,
                "assign_median": fmt(i.to_assign.median),
                "assign_p90": fmt(i.to_assign.p90),
                "closed": i.to_close.count,
                "close_median": fmt(i.to_close.median),
                "close_p90": fmt(i.to_close.p90),
            }
            for i in data.inboxes
        ],
        "assign_chart": timing_chart("Time to assign per inbox", "to_assign") if timed else None,
        "close_chart": timing_chart("Time to close per inbox", "to_close") if timed else None,
        "failure_chart": reasons_chart("Failure reasons", data.failure_reasons)
        if data.failure_reasons
        else None,
        "close_reason_chart": reasons_chart("Close reasons", data.close_reasons)
        if data.close_reasons
        else None,
    }


def dashboard_url() -> str:
    return reverse(f"admin:{URL_NAME}")


def install(site: admin.AdminSite) -> None:
    """Add the dashboard's URL and app-list entry to `site` (once)."""
    if getattr(site, "_hitl_dashboard", False):
        return
    site._hitl_dashboard = True
    get_urls, get_app_list = site.get_urls, site.get_app_list

    def urls():
        view = site.admin_view(functools.partial(dashboard_view, site=site))
        own = [path("conversations/dashboard/", view, name=URL_NAME)]
        return own + get_urls()

    def app_list(request, app_label=None):
        apps = get_app_list(request, app_label)
        if may_view(request.user):
            for app in apps:
                if app["app_label"] == "conversations":
                    app["models"].insert(0, _entry(site))
        return apps

    site.get_urls = urls
    site.get_app_list = app_list


def _entry(site) -> dict:
    return {
        "name": "Dashboard",
        "object_name": "Dashboard",
        "perms": {"add": False, "change": False, "delete": False, "view": True},
        "admin_url": reverse(f"admin:{URL_NAME}", current_app=site.name),
        "add_url": None,
        "view_only": True,
    }


install(admin.site)
