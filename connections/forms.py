"""Admin forms of the connections app."""

from django import forms

from connections.models import Connection, HubSpotApp
from tenants.models import Role, Tenant


class AppSelect(forms.Select):
    """Each app option says whose it is (data-tenant, empty for platform apps), so the page shows
    only the chosen organisation's apps and the platform's (static/connections/connect.js)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-tenant"] = "" if instance.tenant_id is None else str(instance.tenant_id)
        return option


class ConnectForm(forms.Form):
    """Which organisation connects, through which HubSpot app. Choices are limited to the user's.

    A single choice is preselected; `initial={"app": pk}` (the app page's "Connect a portal with
    this app" link) preselects that app and its organisation.
    """

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), label="Organisation")
    app = forms.ModelChoiceField(
        queryset=HubSpotApp.objects.none(),
        widget=AppSelect,
        label="HubSpot app",
        help_text="Your organisation's own app, or a platform app shared by all organisations.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        tenants = Tenant.objects.visible_to(user, roles=(Role.ADMIN,))
        self.fields["tenant"].queryset = tenants
        self.fields["app"].queryset = HubSpotApp.objects.filter(
            tenant__isnull=True
        ) | HubSpotApp.objects.filter(tenant__in=tenants)
        if tenants.count() == 1:
            self.fields["tenant"].initial = tenants.first()
        if self.fields["app"].queryset.count() == 1:
            self.fields["app"].initial = self.fields["app"].queryset.first()
        self._preselect_from_app()

    def _preselect_from_app(self) -> None:
        try:
            app = self.fields["app"].queryset.filter(pk=int(self.initial.get("app") or 0)).first()
        except (TypeError, ValueError):
            app = None
        if app is None:
            self.initial.pop("app", None)  # a stale or foreign id is simply not preselected
        elif app.tenant_id is not None:
            self.initial["tenant"] = app.tenant_id

    def clean(self):
        cleaned = super().clean()
        tenant, app = cleaned.get("tenant"), cleaned.get("app")
        if tenant and app and app.tenant_id not in (None, tenant.pk):
            self.add_error("app", "This app belongs to another organisation.")
        return cleaned


class ConnectionForm(forms.ModelForm):
    """The connection's own editable fields. A post that leaves out the signature scheme or the
    unknown-contact policy (a script renaming the connection) keeps the current one instead of failing."""

    class Meta:
        model = Connection
        fields = ("name", "callback_signature", "unknown_contact", "outside_hours", "reopen_policy")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("callback_signature", "unknown_contact", "outside_hours", "reopen_policy"):
            if self.is_bound and name in self.fields and name not in self.data:
                self.data = self.data.copy()
                self.data[name] = getattr(self.instance, name)
