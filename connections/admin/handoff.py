"""Admin of what shapes a hand-off: an inbox's business hours (time zone, weekly hours,
holidays) on the inbox's page, and the SLA thresholds inline on the connection's page.

Inlines take their permissions from the page they sit on, whose queryset is already limited to
the user's organisations (TenantScopedAdmin): a tenant admin edits them for their own
connections, a support lead may only look, another tenant gets a 404 for the whole page.
"""

from django.contrib import admin

from connections.models import ConnectedInbox, Holiday, OpeningHours, SlaThreshold
from tenants.admin_mixins import TenantScopedAdmin


class ParentScopedInline:
    def _parent_admin(self):
        return self.admin_site._registry[self.parent_model]

    def has_view_permission(self, request, obj=None):
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj)


class OpeningHoursInline(ParentScopedInline, admin.TabularInline):
    model = OpeningHours
    extra = 0
    fields = ("weekday", "opens_at", "closes_at")


class HolidayInline(ParentScopedInline, admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ("date", "name")


@admin.register(ConnectedInbox)
class ConnectedInboxAdmin(TenantScopedAdmin):
    list_display = ("__str__", "connection", "time_zone", "state")
    list_select_related = ("connection__app", "connection__tenant")
    search_fields = ("name", "=inbox_id")
    fields = ("name", "inbox_id", "connection", "state", "time_zone")
    readonly_fields = ("name", "inbox_id", "connection", "state")
    inlines = (OpeningHoursInline, HolidayInline)

    def has_add_permission(self, request):
        return False  # inboxes are picked on the connection's page

    def has_delete_permission(self, request, obj=None):
        return False  # removed from the connection's page, which also removes the channel account


class SlaThresholdInline(ParentScopedInline, admin.TabularInline):
    model = SlaThreshold
    extra = 0
    fields = ("kind", "inbox", "minutes", "action")
    verbose_name_plural = "SLA thresholds (escalation.sla_breached to the bot, and the action chosen)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Only this connection's inboxes can override a threshold.
        formset.form.base_fields["inbox"].queryset = (
            ConnectedInbox.objects.filter(connection=obj) if obj else ConnectedInbox.objects.none()
        )
        return formset
