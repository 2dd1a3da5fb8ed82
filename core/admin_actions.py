"""Object actions in the admin, declared once: the buttons on an object's page that change something.

An action is a POST to `<object id>/actions/<name>/` of its model's admin. This module does what
every one of them needs, so no handler can forget a part of it:

* **POST only, CSRF checked.** The URL goes through `admin_site.admin_view` (login, CSRF, never
  cached). A GET (a bookmark, a reload, a typed URL) changes nothing: it goes back to the object
  page with a note.
* **Tenant-scoped lookup.** The object comes from the admin's own queryset
  (`get_action_object`): another organisation's object, or none, is a 404, never a hint.
* **Permission.** The admin's `has_action_permission(request, obj)` and the action's own
  `allowed`, else 403 with the action's refusal.
* **Audit.** A handler that returns an outcome (`ok`, `message`, optional `details`) gets one audit
  entry written here, when the action names one (`audit=`), and its message shown. Handlers whose
  service writes its own entry return None (their messages set) or a response of their own (a
  page that shows a secret once).
* **POST/redirect/GET.** Every POST ends on a redirect to the object page (at the action's anchor),
  so Back and reload never post again. Running an action twice is harmless by the handlers'
  contract: each re-reads the object and reports "nothing to do" when it is done.

Changelist (bulk) actions stay Django admin actions; they use the same permission (`operable`)
and audit (`audit_per_tenant`) helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse

from core import audit
from core.models import AuditLogEntry

NOTHING_DONE = "Nothing was done: actions run from their buttons on this page."


@dataclass(frozen=True)
class ObjectAction:
    name: str  # the URL's slug
    label: str  # the button's text, also named in refusals
    handler: Callable[[Any, Any, Any], Any]  # (modeladmin, request, obj)
    anchor: str = ""  # the part of the object page to return to
    confirm: str = ""  # the question a person confirms before the POST
    audit: str = ""  # the audit action written from the handler's outcome ("" = the service audits)
    allowed: Callable[[Any, Any, Any], bool] | None = None  # a further check: (modeladmin, request, obj)
    refusal: str = ""


class ObjectActions:
    """The object actions of one model admin.

    The admin provides `get_action_object(request, object_id)` (its tenant-scoped lookup, raising
    Http404) and `has_action_permission(request, obj)`; `urls(modeladmin)` goes into its
    `get_urls()`.
    """

    def __init__(self, model_url: str, *, refusal: str = "You may not change this.") -> None:
        self.model_url = model_url  # "connections_connection": admin URL names are built from it
        self.refusal = refusal
        self.actions: dict[str, ObjectAction] = {}

    def register(
        self,
        name: str,
        label: str,
        *,
        anchor: str = "",
        confirm: str = "",
        audit: str = "",
        allowed: Callable | None = None,
        refusal: str = "",
    ):
        def add(handler):
            if name in self.actions:
                raise ValueError(f"Two object actions named {name!r} on {self.model_url}")
            self.actions[name] = ObjectAction(name, label, handler, anchor, confirm, audit, allowed, refusal)
            return handler

        return add

    def __getitem__(self, name: str) -> ObjectAction:
        found = self.actions.get(name)
        if found is None:
            raise Http404("No such action.")
        return found

    def url(self, obj, name: str) -> str:
        return reverse(f"admin:{self.model_url}_action", args=[obj.pk, self[name].name])

    def object_url(self, obj, anchor: str = "") -> str:
        return reverse(f"admin:{self.model_url}_change", args=[obj.pk]) + (f"#{anchor}" if anchor else "")

    def urls(self, modeladmin) -> list:
        def view(request, object_id, action):
            return self.view(modeladmin, request, object_id, action)

        return [
            path(
                "<path:object_id>/actions/<slug:action>/",
                modeladmin.admin_site.admin_view(view),
                name=f"{self.model_url}_action",
            )
        ]

    def view(self, modeladmin, request, object_id, name: str) -> HttpResponse:
        obj = modeladmin.get_action_object(request, object_id)  # 404 outside the user's tenants
        if not modeladmin.has_action_permission(request, obj):
            raise PermissionDenied(self.refusal)
        action = self[name]
        if action.allowed is not None and not action.allowed(modeladmin, request, obj):
            raise PermissionDenied(action.refusal or self.refusal)
        back = self.object_url(obj, action.anchor)
        if request.method != "POST":
            messages.info(request, NOTHING_DONE)
            return redirect(back)
        result = action.handler(modeladmin, request, obj)
        if isinstance(result, HttpResponse):
            return result
        if result is not None:
            (messages.success if result.ok else messages.warning)(request, result.message)
            if action.audit:
                record(request, action.audit, obj, result)
        return redirect(back)


def record(request, action: str, obj, result) -> AuditLogEntry:
    """The one audit entry of an object action's outcome."""
    return audit.record(
        action,
        actor=request.user,
        tenant=tenant_of(obj),
        target=obj,
        outcome=AuditLogEntry.Outcome.SUCCESS if result.ok else AuditLogEntry.Outcome.FAILURE,
        message=result.message,
        details=dict(getattr(result, "details", None) or {}),
    )


def tenant_of(obj):
    """The tenant an object belongs to, following its model's `tenant_lookup` ("connection__tenant")."""
    lookup = getattr(type(obj), "tenant_lookup", "tenant")
    value = obj
    for part in lookup.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def audit_per_tenant(request, action: str, pairs, message: str) -> None:
    """Bulk (changelist) actions: one audit entry per tenant touched; `pairs` are (tenant id, row id)."""
    from tenants.models import Tenant

    by_tenant: dict[int | None, list[str]] = {}
    for tenant_id, pk in pairs:
        by_tenant.setdefault(tenant_id, []).append(str(pk))
    tenants = Tenant.objects.in_bulk([t for t in by_tenant if t is not None])
    for tenant_id, ids in by_tenant.items():
        audit.record(
            action, actor=request.user, tenant=tenants.get(tenant_id), message=message, details={"ids": ids}
        )


def operable(request, queryset, roles):
    """Bulk actions: the part of `queryset` the user may act on (rows of tenants where they hold
    one of `roles`; superusers: all)."""
    from tenants.models import tenant_ids_for

    if request.user.is_superuser:
        return queryset
    return queryset.for_tenants(tenant_ids_for(request.user, roles))
