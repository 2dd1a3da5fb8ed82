"""The base of the log admins: records of what happened, which nobody edits.

Like dj-stripe's ReadOnlyMixin: no add, change or delete for anyone, superusers included (a log
that can be edited proves nothing). Viewing follows TenantScopedAdmin: superusers see all, a
tenant's admins and support leads see their tenant's rows, another tenant's row is a 404.

The only writes are admin actions, which hand the rows to the services that already own them
(reprocess a webhook event, retry a callback). Actions declare `permissions=["operate"]`: only
superusers and tenant admins get them, and an action applies only to rows of tenants where the
user is an admin (TenantScopedAdmin.operable).
"""

from django.contrib import admin

from tenants.admin_mixins import TenantScopedAdmin
from tenants.models import tenant_ids_for


class ReadOnlyLogAdmin(TenantScopedAdmin):
    support_lead_access = "view"
    list_per_page = 50
    show_full_result_count = False  # a second COUNT(*) over a large log for a number nobody needs
    change_list_template = "admin/conversations/log_change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_list_display(self, request):
        # Only people who see several organisations' rows need the column.
        several = request.user.is_superuser or len(tenant_ids_for(request.user)) > 1
        if several and hasattr(self, "tenant_name"):
            return (*self.list_display, "tenant_name")
        return self.list_display


class OwnRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """Related objects that appear in the user's own rows, named in one query: the stock filter
    reads what each name needs (a connection's app, an app's tenant) once per object."""

    select_related: tuple[str, ...] = ()

    def field_choices(self, field, request, model_admin):
        used = model_admin.get_queryset(request).order_by().values_list(f"{self.field_path}__pk", flat=True)
        related = field.related_model.objects.filter(pk__in=used).select_related(*self.select_related)
        return [(obj.pk, str(obj)) for obj in related.order_by("name", "pk")]


class ConnectionFilter(OwnRelatedFilter):
    select_related = ("app",)


class AppFilter(OwnRelatedFilter):
    select_related = ("tenant",)
