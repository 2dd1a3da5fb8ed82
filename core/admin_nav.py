"""The admin's navigation grouped by task, not by Python app.

Django lists models per app ("Conversations", "Sandbox", "Django Celery Beat"…); a support lead
thinks in jobs. `install(site)` makes the site's app list (the sidebar and the home page) four
groups: Escalations, Connections, Organisation, Developer tools. Each model still appears only to
those its ModelAdmin allows (the list is built from Django's own, which asks every ModelAdmin), so
a support lead never sees a model they cannot use, and Developer tools (the HubSpot sandbox,
Celery beat, worker pings, users and groups) are superuser-only by construction: their admins
refuse everyone else. An app's own index (`/admin/<app_label>/`) keeps Django's list.

`sidebar(request)` hands the same groups to the admin theme (django-unfold's SIDEBAR navigation
callback in settings), with an icon per entry, so the sidebar and the home page always agree on
what a person may open.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import escape

GROUPS = (
    ("escalations", "Escalations"),
    ("connections", "Connections"),
    ("organisation", "Organisation"),
    ("developer", "Developer tools"),
)

# Where each model goes, by "app_label.ObjectName" (then app_label alone); unlisted: developer.
PLACES = {
    "conversations.Dashboard": ("escalations", 0),
    "conversations.Escalation": ("escalations", 1),
    "conversations.HubSpotEvent": ("escalations", 2),
    "conversations.WebhookReceipt": ("escalations", 3),
    "conversations.EscalationEvent": ("escalations", 4),
    "conversations.CallbackAttempt": ("escalations", 5),
    "connections.Connection": ("connections", 0),
    "connections.HubSpotApp": ("connections", 1),
    "connections.ConnectedInbox": ("connections", 2),
    "tenants.Tenant": ("organisation", 0),
    "tenants.Membership": ("organisation", 1),
    "tenants.Invitation": ("organisation", 2),
    "core.AuditLogEntry": ("organisation", 3),
}


# Material Symbols names (the font ships with the theme) by "app_label.ObjectName".
ICONS = {
    "conversations.Dashboard": "monitoring",
    "conversations.Escalation": "support_agent",
    "conversations.HubSpotEvent": "bolt",
    "conversations.WebhookReceipt": "webhook",
    "conversations.EscalationEvent": "send",
    "conversations.CallbackAttempt": "sync_alt",
    "connections.Connection": "hub",
    "connections.HubSpotApp": "apps",
    "tenants.Tenant": "corporate_fare",
    "tenants.Membership": "group",
    "tenants.Invitation": "forward_to_inbox",
    "core.AuditLogEntry": "history",
    "auth.User": "person",
    "auth.Group": "groups",
}


def grouped(app_list: list[dict]) -> list[dict]:
    groups = {key: [] for key, _ in GROUPS}
    for app in app_list:
        for model in app["models"]:
            key = f"{app['app_label']}.{model['object_name']}"
            group, order = PLACES.get(key, ("developer", 100))
            entry = dict(model)
            entry["icon"] = ICONS.get(key, "build")
            # Say where a developer tool comes from ("Periodic Tasks: Intervals"), unless its name
            # already does ("Sandbox threads").
            if group == "developer" and not str(entry["name"]).lower().startswith(app["app_label"].lower()):
                entry["name"] = f"{app['name']}: {entry['name']}"
            groups[group].append((order, str(entry["name"]), entry))
    result = []
    for key, name in GROUPS:
        models = [entry for _, _, entry in sorted(groups[key], key=lambda item: item[:2])]
        if not models:
            continue
        result.append(
            {
                "name": name,
                "app_label": key,
                "app_url": models[0]["admin_url"] or reverse("admin:index"),
                "has_module_perms": True,
                "models": models,
            }
        )
    return result


def install(site) -> None:
    """Group `site`'s app list (once). Call after every admin module has registered and added
    its entries (the dashboard's), before the site's URLs are built."""
    if getattr(site, "_hitl_grouped_nav", False):
        return
    site._hitl_grouped_nav = True
    get_app_list = site.get_app_list

    def app_list(request, app_label=None):
        apps = get_app_list(request, app_label)
        return apps if app_label else grouped(apps)

    site.get_app_list = app_list


def sidebar(request) -> list[dict]:
    """The theme's sidebar: Home, then the task groups of the site's (grouped) app list."""
    from django.contrib import admin

    groups = [{"items": [{"title": "Home", "icon": "home", "link": reverse("admin:index")}]}]
    for group in admin.site.get_app_list(request):
        groups.append(
            {
                "title": group["name"],
                "separator": True,
                # Developer tools are many and rarely used: folded until one of them is open.
                "collapsible": group["app_label"] == "developer",
                "items": [
                    {"title": escape(str(model["name"])), "icon": model["icon"], "link": model["admin_url"]}
                    for model in group["models"]
                    if model.get("admin_url")
                ],
            }
        )
    return groups
