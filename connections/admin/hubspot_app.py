"""HubSpot apps in the admin: which value to copy from where in HubSpot, and what to paste back."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from connections import consent, project_export, webhook_urls
from connections.admin.display import MEDIA_CSS, MEDIA_JS, copyable
from connections.hubspot import scopes
from connections.models import AppKind, HubSpotApp
from tenants.admin_mixins import TenantScopedAdmin

WHERE_IN_HUBSPOT = {
    "name": "A label for this admin, e.g. the app's name in HubSpot.",
    "app_id": "In your HubSpot developer account: Apps → this app → Auth tab, “App ID”.",
    "client_id": "Same Auth tab: “Client ID”.",
    "client_secret": "Same Auth tab: “Client secret” (click Show). HubSpot also signs webhooks with it. "
    "Stored encrypted and never shown again; leave blank to keep the current value.",
    "developer_api_key": "Developer account → Apps → “Get HubSpot API key” (developer API key). With it "
    "the portal registers the custom channel and sets up webhooks for you. Stored encrypted and never "
    "shown again; leave blank to keep the current value.",
    "kind": "Auth tab of a legacy public app, or a project (developer platform 2025.2+, `hs project "
    "upload`). A project's settings come from files: download them below once saved.",
    "required_scopes": "Exactly the app's required scopes in HubSpot (space separated). The install "
    "link sends them as `scope`; HubSpot refuses a link whose scopes differ from the app's.",
    "optional_scopes": "The app's optional scopes in HubSpot, sent as `optional_scope`.",
}


class ScopesField(forms.CharField):
    """A list of scopes, edited as space (or comma) separated text."""

    def prepare_value(self, value):
        return " ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return scopes.normalise(super().to_python(value) or "")


class HubSpotAppForm(forms.ModelForm):
    required_scopes = ScopesField(required=False, widget=forms.TextInput(attrs={"size": 100}))
    optional_scopes = ScopesField(required=False, widget=forms.TextInput(attrs={"size": 100}))

    class Meta:
        model = HubSpotApp
        # The admin passes its fieldsets' fields to modelform_factory; these are the ones declared here.
        fields = ("kind", "required_scopes", "optional_scopes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            self.fields["kind"].required = False
        if not self.instance.pk and "required_scopes" in self.fields:
            self.initial.setdefault("required_scopes", scopes.default_required_scopes())

    def clean_kind(self):
        return self.cleaned_data.get("kind") or AppKind.LEGACY_PUBLIC

    def clean_required_scopes(self):
        # Left empty: what the portal needs (the default of a new app).
        value = self.cleaned_data["required_scopes"] or scopes.default_required_scopes()
        missing = [s for s in scopes.PORTAL_SCOPES if s not in value]
        if missing:
            raise forms.ValidationError(f"The portal cannot work without: {' '.join(missing)}.")
        return value


@admin.register(HubSpotApp)
class HubSpotAppAdmin(TenantScopedAdmin):
    form = HubSpotAppForm
    list_display = ("name", "app_id", "client_id", "tenant", "has_developer_api_key", "created_at")
    list_select_related = ("tenant",)
    search_fields = ("name", "client_id", "=app_id")
    readonly_fields = (
        "redirect_url",
        "app_webhook_url",
        "channel_webhook_url",
        "project_files",
        "webhook_token",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("tenant", "name", "kind")}),
        (
            "Copy from HubSpot",
            {
                "description": "Values of the app in your HubSpot developer account "
                "(developers.hubspot.com → Apps).",
                "fields": ("app_id", "client_id", "client_secret", "developer_api_key"),
            },
        ),
        ("Scopes", {"fields": ("required_scopes", "optional_scopes")}),
        (
            "Paste into HubSpot",
            {
                "description": "Set these in the app's settings in HubSpot before connecting a portal.",
                "fields": ("redirect_url", "app_webhook_url", "channel_webhook_url", "project_files"),
            },
        ),
        ("Record", {"fields": ("webhook_token", "created_at", "updated_at"), "classes": ("collapse",)}),
    )
    change_form_template = "admin/connections/hubspotapp/change_form.html"

    class Media:
        js = MEDIA_JS
        css = MEDIA_CSS

    @admin.display(boolean=True, description="Developer API key")
    def has_developer_api_key(self, obj) -> bool:
        return bool(obj.developer_api_key)

    @admin.display(description="OAuth redirect URL")
    def redirect_url(self, obj):
        return format_html(
            "{}<div class='hitl-help'>Auth tab → Redirect URLs. HubSpot sends admins back here "
            "after consent.</div>",
            copyable(consent.redirect_uri()),
        )

    @admin.display(description="Webhook target URL")
    def app_webhook_url(self, obj):
        if obj is None or obj.pk is None:
            return "Shown after saving."
        return format_html(
            "{}<div class='hitl-help'>Webhooks tab → Target URL (“Set up webhooks” on a connection does "
            "this for you when the developer API key allows it).</div>",
            copyable(webhook_urls.app_webhook_url(obj)),
        )

    @admin.display(description="Custom channel webhook URL")
    def channel_webhook_url(self, obj):
        if obj is None or obj.pk is None:
            return "Shown after saving."
        return format_html(
            "{}<div class='hitl-help'>Registered on the custom channel when a connection registers it; "
            "nothing to paste unless you create the channel by hand.</div>",
            copyable(webhook_urls.channel_webhook_url(obj)),
        )

    @admin.display(description="Project files")
    def project_files(self, obj):
        if obj is None or obj.pk is None:
            return "Shown after saving."
        if not obj.is_project_app:
            return "Only for a project app (set the kind above)."
        return format_html(
            "<a href='{}'>Download the HubSpot project (zip)</a><div class='hitl-help'>Unzip, then "
            "run <code>hs project upload</code> in it. Same files as <code>manage.py "
            "export_hubspot_project --app {}</code>.</div>",
            reverse("admin:connections_hubspotapp_project_zip", args=[obj.pk]),
            obj.app_id,
        )

    def get_urls(self):
        extra = [
            path(
                "<path:object_id>/hubspot-project.zip",
                self.admin_site.admin_view(self.project_zip_view),
                name="connections_hubspotapp_project_zip",
            )
        ]
        return extra + super().get_urls()

    def project_zip_view(self, request, object_id):
        # get_object goes through the tenant-scoped queryset: another tenant's app is a 404.
        app = self.get_object(request, object_id)
        if app is None or not self.has_view_permission(request, app) or not app.is_project_app:
            raise Http404("No such project app.")
        name = project_export.project_config(app)["name"]
        response = HttpResponse(project_export.project_zip(app), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
        return response

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs.setdefault("help_texts", WHERE_IN_HUBSPOT)
        return super().get_form(request, obj, change=change, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "tenant" and not request.user.is_superuser:
            # Only the hosting operator may create a platform app (no tenant): without this a
            # tenant admin's blank choice would only fail at save time, with a bare 403.
            field.required = True
            if field.queryset.count() == 1:
                field.initial = field.queryset.first().pk
                field.empty_label = None
        return field

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["sandbox_apps_url"] = _sandbox_apps_url(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        # A new app is only useful once its URLs are in HubSpot, so land on its page, not the list.
        if "_addanother" in request.POST or "_continue" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        messages.success(
            request,
            f"Added “{obj.name}”. Paste the URLs below into the app's settings in HubSpot, then "
            "connect a portal with it.",
        )
        return HttpResponseRedirect(reverse("admin:connections_hubspotapp_change", args=[obj.pk]))


def _sandbox_apps_url(request) -> str:
    """Where a superuser finds the built-in sandbox's app credentials, when the sandbox is on."""
    if not (settings.HUBSPOT_SANDBOX and request.user.is_superuser):
        return ""
    try:
        return reverse("admin:sandbox_sandboxapp_changelist")
    except NoReverseMatch:
        return ""
