"""Connections: one HubSpot portal connected through one app, with its OAuth tokens."""

from django.conf import settings
from django.db import models

from connections.models.apps import HubSpotApp
from core.fields import EncryptedTextField
from tenants.models import Tenant, TenantScopedQuerySet


class ErrorOrigin(models.TextChoices):
    """Which part of the portal wrote `Connection.last_error`: each clears only its own."""

    NONE = "", "None"
    TOKEN_REFRESH = "token_refresh", "Token refresh"
    REVOCATION = "revocation", "Token revocation"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Connected"
    ERROR = "error", "Needs attention"
    DISCONNECTED = "disconnected", "Disconnected"


class CallbackSignature(models.TextChoices):
    """How callbacks to the bot are signed (`conversations.callback_signing` documents both)."""

    HITL = "hitl", "X-HITL-Signature (t=…,v1=…)"
    STANDARD = "standard", "Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)"


class Connection(models.Model):
    """One HubSpot portal (hub) connected through one app, with its OAuth tokens."""

    tenant_lookup = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    app = models.ForeignKey(HubSpotApp, on_delete=models.PROTECT, related_name="connections")
    name = models.CharField(max_length=200, blank=True, help_text="Label shown in the admin.")
    portal_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="HubSpot portal (hub) ID, learned from the token."
    )
    hub_domain = models.CharField(max_length=255, blank=True)
    scopes = models.JSONField(default=list, blank=True, help_text="Scopes granted at consent.")
    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.DISCONNECTED
    )
    last_error = models.TextField(blank=True)
    token_refresh_claim = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="Set while one worker refreshes the access token (others wait for its result); "
        "cleared when it records the result, and by a disconnect or a new consent, so a refresh "
        "that lost its claim stores nothing.",
    )
    token_refresh_claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the refresh claim lapses if never cleared (its worker died).",
    )
    error_origin = models.CharField(
        max_length=20,
        choices=ErrorOrigin.choices,
        default=ErrorOrigin.NONE,
        blank=True,
        help_text="What wrote the last error (a token refresh that succeeds later clears only its own).",
    )
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    callback_url = models.URLField(
        max_length=1000,
        blank=True,
        help_text="Default URL for events to the bot, used when an escalation names none. "
        "Empty: bots pull events from the API.",
    )
    assignment_timeout_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Fail an escalation with reason no_agent when no agent takes it within this many "
        "minutes (the HubSpot thread is left open). Empty: wait indefinitely.",
    )
    unknown_contact = models.CharField(
        max_length=10,
        choices=[("refuse", "Refuse the start (422 contact_not_found)"), ("create", "Create the contact")],
        default="refuse",
        help_text="When no HubSpot contact has the user's phone or email. Creating needs the "
        "crm.objects.contacts.write scope in the app's scopes and the grant.",
    )
    outside_hours = models.CharField(
        "starts outside business hours",
        max_length=10,
        choices=[
            ("queue", "Queue anyway (the wait estimate counts the closed hours)"),
            ("refuse", "Refuse (409 outside_business_hours with the next opening)"),
        ],
        default="queue",
        help_text="What a start does while its inbox is closed (the inbox's opening hours and "
        "holidays). An inbox without opening hours is always open.",
    )
    reopen_policy = models.CharField(
        max_length=12,
        choices=[
            ("new_thread", "A new HubSpot thread"),
            ("same_thread", "Reopen the closed thread"),
        ],
        default="new_thread",
        help_text="When a bot starts again for a conversation whose escalation was closed: a fresh "
        "thread in the inbox, or the closed thread set back to open so the agent sees the history.",
    )
    callback_signature = models.CharField(
        "callback signature scheme",
        max_length=20,
        choices=CallbackSignature.choices,
        default=CallbackSignature.HITL,
        help_text="Standard Webhooks lets bots verify callbacks with an off-the-shelf library "
        "(standardwebhooks for Python, Node and others). It signs only with secrets in standard "
        "base64 (whsec_…, issued by this version): rotate an older secret before switching.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("tenant__name", "name")
        constraints = [
            # One connection per portal and app: reconnecting updates it. A shared platform app
            # routes webhooks by portalId, which is only unambiguous with this constraint.
            models.UniqueConstraint(fields=("app", "portal_id"), name="connection_unique_portal_per_app"),
        ]

    def __str__(self) -> str:
        label = self.name or (f"portal {self.portal_id}" if self.portal_id else "not connected")
        return f"{label} via {self.app.name}"
