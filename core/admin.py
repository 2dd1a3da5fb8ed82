"""Admin of platform records: queue round trips and the audit log."""

import json

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from unfold.admin import ModelAdmin

from core import admin_dates  # noqa: F401 (registers the strict date filter for every admin list)
from core.models import AuditLogEntry, WorkerPing
from tenants.admin_mixins import TenantScopedAdmin, organisation_column
from tenants.models import Role, tenant_ids_for


@admin.register(WorkerPing)
class WorkerPingAdmin(ModelAdmin):
    """Read-only record of queue round trips (POST /ops/worker-ping/ starts one)."""

    list_display = ("requested_at", "requested_by", "completed_at", "worker")
    list_select_related = ("requested_by",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(TenantScopedAdmin):
    """Who did what to connections, read-only. Tenant admins see their tenant's entries; support
    leads see none: what happened to connections and keys is admin data, not escalation data."""

    support_lead_access = "none"
    # The target is on the entry's page (and searchable); the list stays readable beside the filters.
    list_display = ("when", "actor_label", "action", "succeeded", "short_message")
    list_filter = ("outcome", "action", "created_at")
    list_select_related = ("tenant", "actor")
    search_fields = ("action", "actor_label", "target_repr", "message", "=target_id")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "tenant",
        "actor",
        "actor_label",
        "action",
        "outcome",
        "target_type",
        "target_id",
        "target_repr",
        "message",
        "pretty_details",
    )
    readonly_fields = fields

    @admin.display(description="When", ordering="created_at")
    def when(self, obj) -> str:
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="OK", boolean=True, ordering="outcome")
    def succeeded(self, obj) -> bool:
        return obj.outcome == AuditLogEntry.Outcome.SUCCESS

    @admin.display(description="Message")
    def short_message(self, obj) -> str:
        return Truncator(obj.message).chars(90)

    def get_list_display(self, request):
        # Only people who see several organisations' entries need the column.
        if request.user.is_superuser or len(tenant_ids_for(request.user, (Role.ADMIN,))) > 1:
            return (*self.list_display, organisation_column)
        return self.list_display

    @admin.display(description="Details")
    def pretty_details(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.details, indent=2, sort_keys=True))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # History is not rewritten from the admin, not even by superusers.
        return False
