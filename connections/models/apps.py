"""HubSpot apps (developer-account apps) registered in the portal."""

import uuid

from django.db import models

from connections.hubspot.scopes import default_required_scopes
from core.fields import EncryptedTextField
from tenants.models import Tenant, TenantScopedQuerySet


class AppKind(models.TextChoices):
    # Configured on developers.hubspot.com; webhook subscriptions set through the webhooks API.
    LEGACY_PUBLIC = "legacy_public", "Legacy public app"
    # Developer platform 2025.2+ project (app-hsmeta.json, `hs project upload`): HubSpot takes its
    # webhook subscriptions from the project's files only.
    PROJECT = "project", "Project app (developer platform)"


class HubSpotApp(models.Model):
    """A HubSpot public app (developer account): the OAuth client and owner of custom channels.

    Either one tenant brings its own app, or the hosting operator registers a *platform* app (no
    tenant) that every tenant connects through; webhooks of a shared app are then routed by portal.
    """

    tenant_lookup = "tenant"

    tenant = models.ForeignKey(
        Tenant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="hubspot_apps",
        help_text="Owner. Empty for a platform app shared by every tenant (superusers only).",
    )
    name = models.CharField(max_length=200)
    app_id = models.PositiveBigIntegerField(help_text="HubSpot app ID (developer account → Apps).")
    client_id = models.CharField(max_length=100, help_text="OAuth client ID of the app.")
    client_secret = EncryptedTextField(
        help_text="OAuth client secret. Also the key HubSpot signs webhooks with."
    )
    developer_api_key = EncryptedTextField(
        blank=True,
        help_text="Developer API key of the app's developer account: needed to register custom "
        "channels and webhook subscriptions.",
    )
    kind = models.CharField(
        max_length=20,
        choices=AppKind.choices,
        default=AppKind.LEGACY_PUBLIC,
        help_text="How the app is built in HubSpot. A project app's configuration files can be "
        "downloaded from this page; a legacy app's webhooks are set through HubSpot's API.",
    )
    required_scopes = models.JSONField(
        default=default_required_scopes,
        blank=True,
        help_text="Scopes the app requires, exactly as configured in HubSpot (sent as `scope`).",
    )
    optional_scopes = models.JSONField(
        default=list,
        blank=True,
        help_text="Optional scopes of the app in HubSpot (sent as `optional_scope`).",
    )
    webhook_token = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Unguessable path segment of this app's webhook URLs.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "HubSpot app"
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=("app_id",), name="hubspotapp_unique_app_id")]

    def __str__(self) -> str:
        owner = self.tenant.name if self.tenant_id else "platform"
        return f"{self.name} (app {self.app_id}, {owner})"

    @property
    def is_project_app(self) -> bool:
        return self.kind == AppKind.PROJECT

    @property
    def is_platform_app(self) -> bool:
        return self.tenant_id is None
