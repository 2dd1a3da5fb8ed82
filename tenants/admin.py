from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from unfold.admin import TabularInline

from tenants import invitations
from tenants.admin_mixins import TenantScopedAdmin, user_tenants
from tenants.models import Invitation, Membership, Role, Tenant, tenant_ids_for


def _member_choices(request):
    """Users a tenant admin may pick: members of their own tenants (superusers: everyone)."""
    users = get_user_model().objects.order_by("username")
    if request.user.is_superuser:
        return users
    return users.filter(memberships__tenant_id__in=tenant_ids_for(request.user, (Role.ADMIN,))).distinct()


class MembershipInline(TabularInline):
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


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ("tenant", "email", "role")

    def clean(self):
        data = super().clean()
        tenant, email = data.get("tenant"), (data.get("email") or "").strip().lower()
        if tenant and email:
            open_ones = Invitation.objects.filter(
                tenant=tenant, email__iexact=email, accepted_at=None, revoked_at=None
            )
            if open_ones.exists():
                self.add_error(
                    "email",
                    "This email already has a pending invitation to this organisation: "
                    "resend it from the list instead.",
                )
        return data


@admin.register(Invitation)
class InvitationAdmin(TenantScopedAdmin):
    """Invite members by email (tenants/invitations.py): the link is emailed, never shown here.
    Resend and revoke are list actions (POST, then back to the list)."""

    form = InvitationForm
    list_display = ("email", "tenant", "role", "state_label", "expires_at", "invited_by", "times_sent")
    list_filter = ("role", "tenant")
    list_select_related = ("tenant", "invited_by")
    search_fields = ("email",)
    actions = ("resend_invitations", "revoke_invitations")

    @admin.display(description="State")
    def state_label(self, obj) -> str:
        return obj.state.capitalize()

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return (
                "tenant",
                "email",
                "role",
                "state_label",
                "expires_at",
                "invited_by",
                "times_sent",
                "accepted_by",
            )
        return ()

    def get_fields(self, request, obj=None):
        if obj is not None:
            return self.get_readonly_fields(request, obj)
        return ("tenant", "email", "role")

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        tenants = user_tenants(request)
        if "tenant" not in initial and tenants.count() == 1:
            initial["tenant"] = tenants.first().pk
        return initial

    def save_model(self, request, obj, form, change):
        if change:
            return
        if not request.user.is_superuser and obj.tenant_id not in tenant_ids_for(request.user, (Role.ADMIN,)):
            raise PermissionDenied("You are not an admin of this organisation.")
        try:
            created = invitations.invite(obj.tenant, obj.email, obj.role, by=request.user)
        except invitations.InvitationError as exc:
            raise ValidationError(str(exc)) from None
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(reverse("admin:tenants_invitation_changelist"))

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(request, f"Invitation emailed to {obj.email}.")
        return redirect(reverse("admin:tenants_invitation_changelist"))

    # Bulk actions as the log admins have them (TenantScopedAdmin.operable, core/admin_actions.py):
    # "operate" keeps them from anyone who administers no organisation, and each touches only
    # invitations of organisations the user administers. The services write one audit entry each.
    @admin.action(description="Resend the selected invitations (new link)", permissions=["operate"])
    def resend_invitations(self, request, queryset):
        self._each(request, queryset, invitations.resend, "Resent")

    @admin.action(description="Revoke the selected invitations", permissions=["operate"])
    def revoke_invitations(self, request, queryset):
        self._each(request, queryset, invitations.revoke, "Revoked")

    def _each(self, request, queryset, service, verb):
        selected = queryset.count()
        allowed = list(self.operable(request, queryset).select_related("tenant"))
        for invitation in allowed:
            try:
                service(invitation, by=request.user)
            except invitations.InvitationError as exc:
                messages.warning(request, str(exc))
            else:
                messages.success(request, f"{verb} the invitation of {invitation.email}.")
        if selected > len(allowed):
            left = selected - len(allowed)
            messages.warning(request, f"{left} invitation(s) of other organisations: left alone.")

    def get_actions(self, request):
        # Invitations are revoked (kept for the audit trail), not deleted in bulk.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
