from django.contrib import admin
from django.contrib.auth import get_user_model

from tenants.admin_mixins import TenantScopedAdmin
from tenants.models import Membership, Role, Tenant, tenant_ids_for


def _member_choices(request):
    """Users a tenant admin may pick: members of their own tenants (superusers: everyone)."""
    users = get_user_model().objects.order_by("username")
    if request.user.is_superuser:
        return users
    return users.filter(memberships__tenant_id__in=tenant_ids_for(request.user, (Role.ADMIN,))).distinct()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0

    def _parent(self):
        return self.admin_site._registry[self.parent_model]

    def has_add_permission(self, request, obj=None):
        return self._parent().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent().has_change_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return self._parent().has_view_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _member_choices(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    support_lead_access = "view"
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)

    def has_add_permission(self, request):
        # New organisations are created by the hosting operator.
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("user", "tenant")
    search_fields = ("user__username", "user__email", "tenant__name")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _member_choices(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
