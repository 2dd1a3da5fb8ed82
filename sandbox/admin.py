"""Admin for the HubSpot sandbox: superusers only.

Sandbox rows are HubSpot's side of the world (every tenant's fake HubSpot at once), so tenant
admins and support leads never see them, even with model permissions granted by mistake.
"""

from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline

from sandbox import models


class SuperuserOnlyAdmin(ModelAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class ReadOnlyAdmin(SuperuserOnlyAdmin):
    """Records of what happened; editing them would rewrite history."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.SandboxBehaviour)
class SandboxBehaviourAdmin(SuperuserOnlyAdmin):
    list_display = (
        "__str__",
        "access_token_ttl_seconds",
        "rate_limit_per_10s",
        "fail_next_requests",
        "fail_status",
        "channel_list_delay_seconds",
    )

    def has_add_permission(self, request):
        # A single row (pk=1), created on first use by SandboxBehaviour.current().
        return super().has_add_permission(request) and not models.SandboxBehaviour.objects.exists()


@admin.register(models.SandboxPortal)
class SandboxPortalAdmin(SuperuserOnlyAdmin):
    list_display = ("portal_id", "name", "hub_domain", "created_at")
    search_fields = ("portal_id", "name")


@admin.register(models.SandboxApp)
class SandboxAppAdmin(SuperuserOnlyAdmin):
    list_display = ("app_id", "name", "client_id", "created_at")
    search_fields = ("app_id", "name", "client_id")


@admin.register(models.SandboxAuthCode)
class SandboxAuthCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "app", "portal", "user_email", "expires_at", "used_at")
    list_select_related = ("app", "portal")


@admin.register(models.SandboxToken)
class SandboxTokenAdmin(SuperuserOnlyAdmin):
    list_display = ("kind", "app", "portal", "user_email", "expires_at", "revoked_at", "created_at")
    list_filter = ("kind", "app")
    list_select_related = ("app", "portal")
    search_fields = ("token", "user_email")
    readonly_fields = ("kind", "token", "app", "portal", "scopes", "user_email", "user_id", "created_at")
    fields = (*readonly_fields, "expires_at", "revoked_at")

    def has_add_permission(self, request):
        return False  # tokens come from the OAuth flow (or the seed), never typed in


@admin.register(models.SandboxInbox)
class SandboxInboxAdmin(SuperuserOnlyAdmin):
    list_display = ("inbox_id", "name", "type", "portal", "archived")
    list_filter = ("type", "archived")


@admin.register(models.SandboxActor)
class SandboxActorAdmin(SuperuserOnlyAdmin):
    list_display = ("actor_id", "type", "name", "email", "portal")
    list_filter = ("type",)
    search_fields = ("actor_id", "name", "email")


@admin.register(models.SandboxContact)
class SandboxContactAdmin(SuperuserOnlyAdmin):
    list_display = ("id", "email", "phone", "firstname", "lastname", "portal", "archived")
    list_filter = ("archived",)
    search_fields = ("email", "phone", "firstname", "lastname")


@admin.register(models.SandboxFile)
class SandboxFileAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "content_type", "size", "access", "portal", "created_at")
    exclude = ("content",)


@admin.register(models.SandboxChannel)
class SandboxChannelAdmin(SuperuserOnlyAdmin):
    list_display = ("id", "name", "app", "webhook_url", "archived", "created_at")
    list_filter = ("archived", "app")


@admin.register(models.SandboxChannelAccount)
class SandboxChannelAccountAdmin(SuperuserOnlyAdmin):
    list_display = ("id", "name", "channel", "portal", "inbox", "authorized", "archived")
    list_filter = ("authorized", "archived")
    list_select_related = ("channel", "portal", "inbox")


class SandboxMessageInline(TabularInline):
    model = models.SandboxMessage
    fields = ("message_id", "type", "direction", "text", "created_by", "status_type", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.SandboxThread)
class SandboxThreadAdmin(SuperuserOnlyAdmin):
    list_display = (
        "id",
        "status",
        "inbox",
        "channel",
        "integration_thread_id",
        "contact",
        "assigned_to",
        "archived",
    )
    list_filter = ("status", "archived")
    list_select_related = ("inbox", "channel", "contact")
    search_fields = ("integration_thread_id", "visitor_actor_id")
    raw_id_fields = ("contact", "channel_account")
    inlines = (SandboxMessageInline,)


@admin.register(models.SandboxMessage)
class SandboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("message_id", "thread", "type", "direction", "created_by", "status_type", "created_at")
    list_filter = ("type", "direction", "client_type")
    search_fields = ("message_id", "integration_idempotency_id", "text")


@admin.register(models.SandboxWebhookSettings)
class SandboxWebhookSettingsAdmin(SuperuserOnlyAdmin):
    list_display = ("app", "target_url", "max_concurrent_requests", "updated_at")


@admin.register(models.SandboxSubscription)
class SandboxSubscriptionAdmin(SuperuserOnlyAdmin):
    list_display = ("id", "app", "event_type", "property_name", "active")
    list_filter = ("event_type", "active")


@admin.register(models.SandboxWebhookDelivery)
class SandboxWebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "app", "url", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("kind", "status")
