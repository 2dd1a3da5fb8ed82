"""HubSpot apps (developer-account apps) registered in the portal."""

import uuid

from django.db import models

from core.fields import EncryptedTextField
from tenants.models import Tenant, TenantScopedQuerySet


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
    def is_platform_app(self) -> bool:
        return self.tenant_id is None
