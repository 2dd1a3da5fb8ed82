"""Connections in the admin: connect through consent, then run the portal from its page.

The change page is an operations console (panels in panels.py, buttons in actions.py): inboxes,
channel registration with live progress, webhooks, health, bot access, disconnect. Every action
is a POST to `<id>/actions/<name>/` (core/admin_actions.py), allowed only to those who may change
the connection.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from connections import consent, readiness
from connections.admin import actions, developer, panels
from connections.admin.display import COLOURS, MEDIA_CSS, MEDIA_JS
from connections.admin.handoff import SlaThresholdInline
from connections.forms import ConnectForm, ConnectionForm
from connections.models import Connection, ConnectionStatus, HubSpotApp, RegistrationState
from core import audit
from tenants.admin_mixins import TenantScopedAdmin
from tenants.models import Role, tenant_ids_for

STATUS_TONES = {
    ConnectionStatus.ACTIVE: "ok",
    ConnectionStatus.ERROR: "bad",
    ConnectionStatus.DISCONNECTED: "idle",
}
PAGES = "admin/connections/connection/"


class RegistrationStateFilter(admin.ChoicesFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "channel registration"


@admin.register(Connection)
class ConnectionAdmin(TenantScopedAdmin):
    list_display = (
        "label",
        "portal_id",
        "status_badge",
        "registration_state",
        "app_name",
        "tenant",
        "connected_at",
    )
    list_filter = ("status", ("registration__state", RegistrationStateFilter))
    list_select_related = ("tenant", "app", "registration")
    search_fields = ("name", "=portal_id", "hub_domain")
    fields = (
        "name",
        "status_badge",
        "tenant",
        "app",
        "portal_id",
        "hub_domain",
        "scope_list",
        "access_token_expires_at",
        "last_error",
        "connected_by",
        "connected_at",
        "callback_signature",
        "unknown_contact",
        "outside_hours",
        "reopen_policy",
    )
    readonly_fields = tuple(
        f
        for f in fields
        if f not in ("name", "callback_signature", "unknown_contact", "outside_hours", "reopen_policy")
    )
    inlines = (SlaThresholdInline,)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if request.method == "POST" and f"{prefix}-TOTAL_FORMS" not in request.POST:
            # A post without the thresholds' table (a script renaming the connection) leaves
            # them as they are, instead of failing on the missing management form.
            data = request.POST.copy()
            data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
            kwargs["data"] = data
            kwargs["queryset"] = inline.model.objects.none()
        return kwargs

    form = ConnectionForm
    change_form_template = PAGES + "change_form.html"
    change_list_template = PAGES + "change_list.html"

    class Media:
        js = MEDIA_JS
        css = MEDIA_CSS

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        if obj.status == ConnectionStatus.ACTIVE:
            # A handful of small queries per connection: a tenant has a few, not thousands.
            ready = readiness.readiness(obj)
            if not ready.ready:
                # Connected at HubSpot is not "working": say what is left (the checklist lists it).
                return format_html(
                    '<strong style="color:{}">{}</strong> <span class="hitl-note">set-up incomplete: '
                    "{} of {} steps done</span>",
                    COLOURS["busy"],
                    obj.get_status_display(),
                    ready.done,
                    len(ready.steps),
                )
        return format_html(
            '<strong style="color:{}">{}</strong>',
            COLOURS[STATUS_TONES.get(obj.status, "idle")],
            obj.get_status_display(),
        )

    @admin.display(description="Connection", ordering="name")
    def label(self, obj) -> str:
        return obj.name or (f"Portal {obj.portal_id}" if obj.portal_id else "(not connected)")

    @admin.display(description="App", ordering="app__name")
    def app_name(self, obj) -> str:
        return obj.app.name

    @admin.display(description="Channel", ordering="registration__state")
    def registration_state(self, obj) -> str:
        return panels.registration_of(obj).get_state_display()

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return format_html_join(" ", "<code>{}</code>", ((scope,) for scope in obj.scopes)) or "—"

    # -- URLs -------------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("connect/", view(self.connect_view), name="connections_connection_connect"),
            path("<int:object_id>/status/", view(self.status_view), name="connections_connection_status"),
            path(
                "<int:object_id>/disconnect/",
                view(self.disconnect_confirm_view),
                name="connections_connection_disconnect",
            ),
            *actions.CONNECTION_ACTIONS.urls(self),
            path("<int:object_id>/health/", view(self.health_view), name="connections_connection_health"),
            path(
                "<int:object_id>/secret/<slug:token>/",
                view(self.secret_view),
                name="connections_connection_secret",
            ),
        ]
        return own + super().get_urls()

    # -- helpers shared with actions.py -----------------------------------------------------------
    def can_change_app(self, request, app: HubSpotApp) -> bool:
        if request.user.is_superuser:
            return True
        return app.tenant_id is not None and app.tenant_id in tenant_ids_for(request.user, (Role.ADMIN,))

    def render_page(self, request, connection, template, **context):
        return TemplateResponse(
            request,
            PAGES + template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": connection,
                "change_url": reverse("admin:connections_connection_change", args=[connection.pk]),
                **context,
            },
        )

    # -- object actions (core/admin_actions.py) ---------------------------------------------------
    def get_action_object(self, request, object_id) -> Connection:
        self._ensure_visible(request, object_id)
        return self.get_queryset(request).select_related("tenant", "app").get(pk=object_id)

    def has_action_permission(self, request, obj) -> bool:
        return self.has_change_permission(request, obj)

    def _changeable(self, request, object_id) -> Connection:
        """The connection, if the user may change it: 404 when not visible, 403 when read-only."""
        self._ensure_visible(request, object_id)
        connection = self.get_queryset(request).select_related("tenant", "app").get(pk=object_id)
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        return connection

    # -- the change page --------------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        # A connection is created by HubSpot's consent, never typed in.
        return redirect("admin:connections_connection_connect")

    def has_delete_permission(self, request, obj=None):
        # Deleting a live connection would leave its grant valid at HubSpot: disconnect first.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.status == ConnectionStatus.DISCONNECTED)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["show_save_and_add_another"] = False  # connections are added through consent only
        if obj is not None:
            context["console"] = panels.console(
                obj,
                can_change=self.has_change_permission(request, obj),
                can_change_app=self.can_change_app(request, obj.app),
            )
            context["developer"] = developer.panel(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
        elif form.changed_data:
            # Only what the form changed: a token refresh or a consent may have written the row's
            # other columns since this request read it, and a full save would put them back.
            concrete = {f.name for f in obj._meta.concrete_fields}
            obj.save(update_fields=[name for name in form.changed_data if name in concrete] + ["updated_at"])
        if change and form.changed_data:
            audit.record(
                "connection.update",
                actor=request.user,
                tenant=obj.tenant,
                target=obj,
                message=f"Changed {', '.join(form.changed_data)} of {obj}.",
                details={"fields": form.changed_data},
            )

    # -- extra views ------------------------------------------------------------------------------
    def status_view(self, request, object_id):
        self._ensure_visible(request, object_id)
        connection = self.get_queryset(request).select_related("registration").get(pk=object_id)
        if not self.has_view_permission(request, connection):
            raise PermissionDenied
        # admin_view() marks it never_cache, so a poll always reaches the server.
        return JsonResponse(panels.status_payload(connection))

    def health_view(self, request, object_id):
        return actions.health_page(self, request, self._changeable(request, object_id))

    def secret_view(self, request, object_id, token):
        return actions.secret_page(self, request, self._changeable(request, object_id), token)

    def disconnect_confirm_view(self, request, object_id):
        connection = self._changeable(request, object_id)
        registered = panels.registration_of(connection).state != RegistrationState.UNREGISTERED
        return self.render_page(
            request, connection, "disconnect.html", title=f"Disconnect {connection}?", registered=registered
        )

    def connect_view(self, request):
        if not self.has_add_permission(request):
            return TemplateResponse(
                request,
                PAGES + "connect.html",
                status=403,
                context={**self.admin_site.each_context(request), "forbidden": True},
            )
        initial = {"app": request.GET.get("app")} if request.method == "GET" else None
        form = ConnectForm(request.POST or None, user=request.user, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                url = consent.start(request, tenant=form.cleaned_data["tenant"], app=form.cleaned_data["app"])
            except consent.ConsentError as exc:
                messages.error(request, str(exc))
            else:
                return redirect(url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Connect a HubSpot portal",
            "form": form,
            "scopes": consent.REQUIRED_SCOPES,
            "redirect_uri": consent.redirect_uri(),
        }
        return TemplateResponse(request, PAGES + "connect.html", context)
