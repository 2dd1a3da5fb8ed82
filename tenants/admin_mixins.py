"""One admin base for every tenant-owned model: isolation and roles by default.

Access comes from memberships, not Django's per-model permissions:
- superusers see and change everything;
- a tenant's `admin` members see and change that tenant's objects;
- its `support_lead` members may only *view*, and only models that opt in with
  `support_lead_access = "view"` (escalation data);
- anyone else gets nothing. Another tenant's object is a 404, even by URL.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from unfold.admin import ModelAdmin
from unfold.forms import ActionForm

from core import admin_actions
from core.fields import encrypted_fields
from tenants.models import Role, Tenant, TenantScopedQuerySet, tenant_ids_for, tenant_of


@admin.display(description="Organisation", ordering="tenant__name")
def organisation_column(obj):
    return obj.tenant


class OrganisationListFilter(admin.RelatedFieldListFilter):
    @property
    def title(self):
        return "organisation"

    @title.setter
    def title(self, value):
        pass  # the field's own verbose name ("tenant") is not what people call it

    def field_choices(self, field, request, model_admin):
        # Only the organisations this list can show rows of: another one's name is its data too.
        if request.user.is_superuser:
            return super().field_choices(field, request, model_admin)
        visible = tenant_ids_for(request.user, model_admin._viewer_roles())
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": visible}, ordering=("name",)
        )


class LabelledActionForm(ActionForm):
    """The theme's bulk-action bar, with its select labelled (the theme leaves it without a name)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].label = "Action:"
        self.fields["action"].widget.attrs["aria-label"] = "Action"


class TenantScopedAdmin(ModelAdmin):
    action_form = LabelledActionForm
    support_lead_access = "none"  # or "view"

    # -- one name per concept: a "tenant" field is shown as "Organisation" ----------------------
    def get_list_display(self, request):
        return tuple(organisation_column if f == "tenant" else f for f in super().get_list_display(request))

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        return tuple(("tenant", OrganisationListFilter) if f == "tenant" else f for f in filters)

    # -- who may see what -------------------------------------------------------------------------
    def _viewer_roles(self) -> tuple[str, ...]:
        if self.support_lead_access == "view":
            return (Role.ADMIN, Role.SUPPORT_LEAD)
        return (Role.ADMIN,)

    def _tenant_ids(self, request, roles) -> frozenset[int]:
        return tenant_ids_for(request.user, roles)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.for_tenants(self._tenant_ids(request, self._viewer_roles()))

    def _allowed(self, request, obj, roles) -> bool:
        if request.user.is_superuser:
            return True
        if not request.user.is_active or not request.user.is_staff:
            return False
        allowed = self._tenant_ids(request, roles)
        if obj is None:
            return bool(allowed)
        return tenant_of(obj) in allowed

    def has_module_permission(self, request):
        return self._allowed(request, None, self._viewer_roles())

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj, self._viewer_roles())

    def has_add_permission(self, request):
        return self._allowed(request, None, (Role.ADMIN,))

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj, (Role.ADMIN,))

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj, (Role.ADMIN,))

    # -- changelist (bulk) actions: declared with permissions=["operate"] ---------------------------
    def has_operate_permission(self, request, obj=None) -> bool:
        """May run this admin's bulk actions: superusers and admins of some tenant (not support leads)."""
        return self._allowed(request, obj, (Role.ADMIN,))

    def operable(self, request, queryset):
        """The part of `queryset` a bulk action may touch: rows of the tenants the user administers
        (someone who is admin of one tenant and support lead of another cannot act on the second
        through a crafted POST)."""
        return admin_actions.operable(request, queryset, (Role.ADMIN,))

    # -- another tenant's object by URL is a 404, not a redirect with a hint ------------------------
    def _ensure_visible(self, request, object_id):
        if object_id is None:
            return
        try:
            exists = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError):
            exists = False
        if not exists:
            raise Http404("No such object.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._ensure_visible(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    # -- choices offered in forms are limited to the user's tenants --------------------------------
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            kwargs.setdefault("label", "Organisation")
        related = db_field.related_model
        if not request.user.is_superuser and issubclass(
            related.objects._queryset_class, TenantScopedQuerySet
        ):
            kwargs["queryset"] = related.objects.visible_to(request.user, roles=(Role.ADMIN,))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Forms already restrict choices; this guards crafted POSTs and code paths that skip them.
        if not request.user.is_superuser and tenant_of(obj) not in self._tenant_ids(request, (Role.ADMIN,)):
            raise PermissionDenied("You are not an admin of this object's tenant.")
        super().save_model(request, obj, form, change)

    # -- secrets are write-only --------------------------------------------------------------------
    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        if obj is not None and not self.has_change_permission(request, obj):
            # A read-only view would print field values; secrets are never printed.
            exclude += [f.name for f in encrypted_fields(self.model)]
        return exclude

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            for field in encrypted_fields(self.model):
                if field.name in form.base_fields:
                    # Blank keeps the stored value, so it is never required once set.
                    form.base_fields[field.name].required = False
        return form


def user_tenants(request, roles=(Role.ADMIN,)):
    return Tenant.objects.visible_to(request.user, roles=roles)
