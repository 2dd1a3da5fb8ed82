"""The callback delivery log: events owed to bots and each HTTP attempt to deliver them, read-only.

Admins may retry deliveries that gave up (conversations.delivery.retry_event: back to pending,
due now, delivered in sequence order with the whole retry schedule again). Attempt URLs are shown
without their query string, which may carry a bot's token; response excerpts were redacted when
recorded (conversations.callbacks), and errors and excerpts go through core.logging.redact again
when shown: a connection error's text quotes the URL, query string included.
"""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from conversations import delivery
from conversations.admin import display
from conversations.admin.readonly import ConnectionFilter, ReadOnlyLogAdmin
from conversations.models import CallbackAttempt, DeliveryStatus, EscalationEvent
from core.admin_actions import audit_per_tenant
from core.logging import redact


@admin.register(EscalationEvent)
class EscalationEventAdmin(ReadOnlyLogAdmin):
    list_display = (
        "escalation_link",
        "type",
        "sequence",
        "delivery_badge",
        "attempts",
        "next_attempt",
        "delivered",
    )
    list_filter = (
        "delivery_status",
        "type",
        ("escalation__connection", ConnectionFilter),
        "created_at",
    )
    list_select_related = ("escalation__connection__tenant",)
    ordering = ("-created_at",)
    search_fields = ("=escalation__conversation_id", "=escalation__hubspot_thread_id")
    search_help_text = "The bot's conversation id or the HubSpot thread id, exactly."
    actions = ("retry_deliveries",)
    fields = (
        "escalation_link",
        "type",
        "sequence",
        "delivery_badge",
        "attempts",
        "next_attempt",
        "delivered",
        "occurred_at",
        "created_at",
        "dedupe_key",
        "attempts_table",
        "body",
    )
    readonly_fields = fields

    class Media:
        css = display.MEDIA_CSS

    @admin.display(description="Escalation", ordering="escalation__created_at")
    def escalation_link(self, obj):
        return display.admin_link(obj.escalation, display.cut(str(obj.escalation), narrow=True))

    @admin.display(description="Delivery", ordering="delivery_status")
    def delivery_badge(self, obj):
        return display.badge(obj.delivery_status, obj.get_delivery_status_display())

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj) -> str:
        return display.when(obj.next_attempt_at)

    @admin.display(description="Delivered at", ordering="delivered_at")
    def delivered(self, obj) -> str:
        return display.when(obj.delivered_at)

    @admin.display(description="Organisation", ordering="escalation__connection__tenant__name")
    def tenant_name(self, obj) -> str:
        return obj.escalation.connection.tenant.name

    @admin.display(description="Body sent to the bot")
    def body(self, obj):
        return display.raw(obj.envelope())

    @admin.display(description="Delivery attempts")
    def attempts_table(self, obj):
        attempts = list(obj.callback_attempts.order_by("created_at"))
        if not attempts:
            return "None yet."
        rows = (
            (
                display.admin_link(a, display.when(a.created_at)),
                display.url_host(a.url),
                a.status_code or "—",
                a.duration_ms,
                display.excerpt(redact(a.error), 120) or "—",
            )
            for a in attempts
        )
        return format_html(
            "<table class='hitl-table'><thead><tr><th>When</th><th>Host</th><th>Status</th>"
            "<th>ms</th><th>Error</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.action(description="Retry failed callback deliveries", permissions=["operate"])
    def retry_deliveries(self, request, queryset):
        selected = queryset.count()
        allowed = list(self.operable(request, queryset).only("pk", "escalation_id", "delivery_status"))
        retried_events = [
            event
            for event in allowed
            if event.delivery_status == DeliveryStatus.FAILED and delivery.retry_event(event)
        ]
        retried = len(retried_events)
        if retried_events:
            tenants = dict(
                EscalationEvent.objects.filter(pk__in=[e.pk for e in retried_events]).values_list(
                    "pk", "escalation__connection__tenant_id"
                )
            )
            audit_per_tenant(
                request,
                "callbacks.retry",
                [(tenants[e.pk], e.pk) for e in retried_events],
                f"Re-queued {retried} given-up callback delivery(ies).",
            )
        if retried:
            self.message_user(
                request,
                f"Queued {retried} given-up delivery(ies) again: they go out in sequence order, now.",
                messages.SUCCESS,
            )
        others = len(allowed) - retried
        if others:
            self.message_user(
                request,
                f"{others} selected event(s) had not given up (pending, delivered or pull only): "
                "left as they are.",
                messages.INFO,
            )
        if selected - len(allowed):
            self.message_user(
                request,
                f"{selected - len(allowed)} event(s) of organisations you do not administer were left alone.",
                messages.WARNING,
            )


class AttemptOutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("ok", "Delivered (2xx)"), ("failed", "Failed")]

    def queryset(self, request, queryset):
        ok = {"status_code__gte": 200, "status_code__lt": 300}
        if self.value() == "ok":
            return queryset.filter(**ok)
        if self.value() == "failed":
            return queryset.exclude(**ok)
        return queryset


@admin.register(CallbackAttempt)
class CallbackAttemptAdmin(ReadOnlyLogAdmin):
    list_display = (
        "when",
        "event_link",
        "host",
        "http",
        "error_excerpt",
    )
    list_filter = (
        AttemptOutcomeFilter,
        ("event__escalation__connection", ConnectionFilter),
        "created_at",
    )
    list_select_related = ("event__escalation__connection__tenant",)
    fields = (
        "created_at",
        "event_link",
        "address",
        "status_code",
        "duration_ms",
        "error_text",
        "response_raw",
        "task_id",
    )
    readonly_fields = fields

    @admin.display(description="When", ordering="created_at")
    def when(self, obj) -> str:
        return display.when(obj.created_at)

    @admin.display(description="Event")
    def event_link(self, obj):
        return display.admin_link(obj.event, display.cut(str(obj.event), narrow=True))

    @admin.display(description="HTTP", ordering="status_code")
    def http(self, obj):
        return format_html(
            '{}<br><span class="esc-quiet">{} ms</span>', obj.status_code or "—", obj.duration_ms
        )

    @admin.display(description="Host")
    def host(self, obj) -> str:
        return display.cut(display.url_host(obj.url), narrow=True)

    @admin.display(description="URL")
    def address(self, obj) -> str:
        return display.url_without_query(obj.url)

    @admin.display(description="Error / response")
    def error_excerpt(self, obj):
        return format_html(
            '{}<br><span class="esc-quiet">{}</span>',
            display.cut(redact(obj.error)),
            display.cut(redact(obj.response_excerpt)),
        )

    @admin.display(description="Response (excerpt, as received)")
    def response_raw(self, obj):
        return display.raw(redact(obj.response_excerpt)) if obj.response_excerpt else "—"

    @admin.display(description="Error")
    def error_text(self, obj) -> str:
        return redact(obj.error) or "—"

    @admin.display(description="Organisation", ordering="event__escalation__connection__tenant__name")
    def tenant_name(self, obj) -> str:
        return obj.event.escalation.connection.tenant.name
