"""Tenants (organisations) and who may act for them.

Every tenant-owned model says how to reach its tenant (`tenant_lookup`) and uses
`TenantScopedQuerySet`, so "what may this user see?" is answered in one place, in SQL.
"""

from django.conf import settings
from django.db import models
from django.utils.text import slugify


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SUPPORT_LEAD = "support_lead", "Support lead"


class TenantScopedQuerySet(models.QuerySet):
    """QuerySet for models that belong to a tenant, directly or through a parent."""

    def for_tenants(self, tenant_ids):
        return self.filter(**{f"{self.model.tenant_lookup}__in": tenant_ids})

    def visible_to(self, user, roles=(Role.ADMIN, Role.SUPPORT_LEAD)):
        if user.is_superuser:
            return self
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.for_tenants(tenant_ids_for(user, roles))


class Tenant(models.Model):
    tenant_lookup = "pk"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True, help_text="Short name used in URLs and commands.")
    require_two_factor = models.BooleanField(
        "require two-factor sign-in",
        default=False,
        help_text="Members must confirm each sign-in with an authenticator app (enrolled at their first "
        "sign-in after this is switched on).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "organisation"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:100]
        super().save(*args, **kwargs)


class Membership(models.Model):
    tenant_lookup = "tenant"

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="memberships", verbose_name="organisation"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SUPPORT_LEAD)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "member"
        ordering = ("tenant__name", "user__username")
        constraints = [models.UniqueConstraint(fields=("tenant", "user"), name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.tenant})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Members work in the admin, which requires is_staff; access itself comes from the role.
        if not self.user.is_staff:
            type(self.user).objects.filter(pk=self.user_id).update(is_staff=True)
            self.user.is_staff = True


def _membership_rows(user) -> list[tuple[int, str, bool]]:
    """(tenant id, role, tenant requires a second factor) of every membership: one query per
    request, shared by every role set asked for and by the second-factor check."""
    rows = user.__dict__.get("_membership_rows_cache")
    if rows is None:
        rows = list(
            Membership.objects.filter(user=user).values_list(
                "tenant_id", "role", "tenant__require_two_factor"
            )
        )
        user.__dict__["_membership_rows_cache"] = rows
    return rows


def tenant_ids_for(user, roles=(Role.ADMIN, Role.SUPPORT_LEAD)) -> frozenset[int]:
    """Ids of the tenants where `user` holds one of `roles`, cached on the user for one request."""
    return frozenset(tenant_id for tenant_id, role, _ in _membership_rows(user) if role in roles)


def member_of_tenant_requiring_two_factor(user) -> bool:
    return any(required for _, _, required in _membership_rows(user))


def tenant_of(obj) -> int | None:
    """The tenant id an object belongs to, following its model's `tenant_lookup` path."""
    path = obj.tenant_lookup
    if path == "pk":
        return obj.pk
    target = obj
    *parents, last = path.split("__")
    for name in parents:
        target = getattr(target, name, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


class Invitation(models.Model):
    """An invitation to join an organisation with a role, by email. The link's token is stored only
    as its SHA-256 (tenants/invitations.py); it works once, until `expires_at`, unless revoked."""

    tenant_lookup = "tenant"

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="invitations", verbose_name="organisation"
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SUPPORT_LEAD)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    times_sent = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("tenant", "email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
                violation_error_message="This email already has a pending invitation to this organisation: "
                "resend it from the list instead.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()} of {self.tenant})"

    @property
    def state(self) -> str:
        from django.utils import timezone

        if self.revoked_at:
            return "revoked"
        if self.accepted_at:
            return "accepted"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
