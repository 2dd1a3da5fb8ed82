from django.contrib import admin

from core.models import WorkerPing


@admin.register(WorkerPing)
class WorkerPingAdmin(admin.ModelAdmin):
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
