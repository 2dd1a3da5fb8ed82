from django.contrib import admin

from connections.models import HubSpotApp
from tenants.admin_mixins import TenantScopedAdmin


@admin.register(HubSpotApp)
class HubSpotAppAdmin(TenantScopedAdmin):
    list_display = ("name", "app_id", "client_id", "tenant", "has_developer_api_key", "created_at")
    list_select_related = ("tenant",)
    search_fields = ("name", "client_id", "=app_id")
    readonly_fields = ("webhook_token", "created_at", "updated_at")
    fields = ("tenant", "name", "app_id", "client_id", "client_secret", "developer_api_key", *readonly_fields)

    @admin.display(boolean=True, description="Developer API key")
    def has_developer_api_key(self, obj) -> bool:
        return bool(obj.developer_api_key)
