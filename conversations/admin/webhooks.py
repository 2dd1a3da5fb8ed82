"""The webhook event log: every request HubSpot sent (raw) and every event in it, read-only.

Receipts show the request as stored (headers already filtered by storage.safe_headers; any
signature or credential header left is printed as "(hidden)") and the raw body pretty-printed.
Events show their payload, status and what processing did, and can be reprocessed by admins
(conversations/webhooks/reprocess.py says what that does per status).
"""

from django.contrib import admin, messages
from django.db.models import OuterRef, Q, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from conversations.admin import display
from conversations.admin.readonly import AppFilter, ConnectionFilter, ReadOnlyLogAdmin
from conversations.models import HubSpotEvent, WebhookReceipt
from conversations.webhooks.reprocess import reprocess
from core.admin_actions import audit_per_tenant
from core.logging import redact


def _tenant_label(tenant) -> str:
    return tenant.name if tenant else "Platform app"


# The list's short names for the kinds (the full name on hover and on the receipt's page).
SHORT_KINDS = {WebhookReceipt.Kind.APP: "App", WebhookReceipt.Kind.CHANNEL: "Channel"}


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(ReadOnlyLogAdmin):
    # The sender's address is searchable and on each receipt's page; the list keeps what one scans.
    list_display = ("when", "app_label", "kind_label", "events", "status_badge", "exception_excerpt")
    list_filter = ("kind", "status", ("app", AppFilter), "received_at")
    list_select_related = ("app__tenant",)
    search_fields = ("=remote_ip",)
    fields = (
        "received_at",
        "app",
        "kind",
        "status_badge",
        "event_count",
        "remote_ip",
        "processed_at",
        "exception_text",
        "events_list",
        "request_headers",
        "raw_body",
    )
    readonly_fields = fields

    class Media:
        css = display.MEDIA_CSS

    @admin.display(description="Received at", ordering="received_at")
    def when(self, obj) -> str:
        return display.when(obj.received_at)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return display.badge(obj.status, obj.get_status_display())

    @admin.display(description="Kind", ordering="kind")
    def kind_label(self, obj):
        return format_html('<span title="{}">{}</span>', obj.get_kind_display(), SHORT_KINDS[obj.kind])

    @admin.display(description="Events", ordering="event_count")
    def events(self, obj) -> int:
        return obj.event_count

    @admin.display(description="App", ordering="app__name")
    def app_label(self, obj):
        return display.cut(str(obj.app), narrow=True)

    def get_queryset(self, request):
        # Nothing sets `exception` once a receipt is stored: processing errors are recorded on its
        # events. The list shows the first failed event's error, in the same query.
        first_failure = HubSpotEvent.objects.filter(receipt=OuterRef("pk"), status=HubSpotEvent.Status.FAILED)
        return (
            super()
            .get_queryset(request)
            .annotate(first_failure=Subquery(first_failure.order_by("pk").values("result")[:1]))
        )

    @admin.display(description="Exception")
    def exception_excerpt(self, obj) -> str:
        text = obj.exception or getattr(obj, "first_failure", None) or ""
        return display.cut(redact(text))

    @admin.display(description="Exception")
    def exception_text(self, obj):
        # An exception's text may quote what it choked on; it goes through the log redaction too.
        return display.raw(redact(obj.exception)) if obj.exception else "—"

    @admin.display(description="Organisation", ordering="app__tenant__name")
    def tenant_name(self, obj) -> str:
        return _tenant_label(obj.app.tenant)

    @admin.display(description="Headers")
    def request_headers(self, obj):
        return display.headers_table(obj.headers)

    @admin.display(description="Body (as received)")
    def raw_body(self, obj):
        return display.raw(obj.body)

    @admin.display(description="Events")
    def events_list(self, obj):
        events = list(obj.events.only("pk", "event_type", "dedupe_key", "status", "receipt_id", "app_id"))
        if not events:
            return "None new (duplicates of events already received, or none in the body)."
        link = display.admin_link
        rows = [(link(e, f"{e.event_type} · {e.dedupe_key}"), display.badge(e.status)) for e in events]
        return format_html_join(mark_safe("<br>"), "{} {}", rows)


class EventStatusFilter(admin.SimpleListFilter):
    """The statuses, with "needs attention" (failed or pending) first: what an operator looks for."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("attention", "Failed or pending"), *HubSpotEvent.Status.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "attention":
            return queryset.filter(status__in=(HubSpotEvent.Status.FAILED, HubSpotEvent.Status.PENDING))
        if value in HubSpotEvent.Status.values:
            return queryset.filter(status=value)
        return queryset


class EventTypeFilter(admin.SimpleListFilter):
    """Event types present in the user's own rows (a fixed list would hide new HubSpot types)."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        types = model_admin.get_queryset(request).order_by().values_list("event_type", flat=True).distinct()
        return [(t, t) for t in sorted(types)]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(HubSpotEvent)
class HubSpotEventAdmin(ReadOnlyLogAdmin):
    # Status and result first: beside the filters the table scrolls, and they are what one looks for.
    list_display = (
        "when",
        "type_label",
        "status_badge",
        "result_excerpt",
        "escalation_link",
        "object_id",
    )
    list_filter = (
        EventStatusFilter,
        EventTypeFilter,
        ("connection", ConnectionFilter),
        "created_at",
    )
    list_select_related = ("escalation", "app__tenant", "connection__tenant")
    search_help_text = "A thread id, an event id (or dedupe key such as event:123) or a portal id."
    search_fields = ("object_id",)  # the search itself is get_search_results below
    actions = ("reprocess_events",)
    fields = (
        "created_at",
        "event_type",
        "status_badge",
        "result",
        "attempts",
        "processed_at",
        "dedupe_key",
        "occurred_at",
        "portal_id",
        "object_id",
        "app",
        "connection",
        "escalation_link",
        "receipt_link",
        "raw_payload",
    )
    readonly_fields = fields

    class Media:
        css = display.MEDIA_CSS

    def get_search_results(self, request, queryset, search_term):
        """Exact matches on indexed columns: thread id, dedupe key (`123` finds event:123 and
        message:123) and, for a number, portal id. Never a LIKE over the whole log."""
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q(object_id=term) | Q(
            dedupe_key__in=[term, f"event:{term}", f"message:{term}", f"channel:{term}"]
        )
        if term.isdigit() and len(term) < 19:
            query |= Q(portal_id=int(term))
        return queryset.filter(query), False

    @admin.display(description="Created", ordering="created_at")
    def when(self, obj) -> str:
        return display.when(obj.created_at)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        badge = display.badge(obj.status, obj.get_status_display())
        if obj.attempts > 1:
            return format_html('{}<br><span class="esc-quiet">{} attempts</span>', badge, obj.attempts)
        return badge

    @admin.display(description="Event type", ordering="event_type")
    def type_label(self, obj):
        # A line may break after the dot of "conversation.propertyChange", nowhere else.
        head, dot, tail = obj.event_type.partition(".")
        return format_html("{}{}<wbr>{}", head, dot, tail)

    @admin.display(description="Result")
    def result_excerpt(self, obj) -> str:
        return display.cut(obj.result)

    @admin.display(description="Escalation", ordering="escalation__created_at")
    def escalation_link(self, obj):
        return (
            display.admin_link(obj.escalation, display.cut(str(obj.escalation), narrow=True))
            if obj.escalation
            else "—"
        )

    @admin.display(description="Received in")
    def receipt_link(self, obj):
        return display.admin_link(obj.receipt)

    @admin.display(description="Organisation")
    def tenant_name(self, obj) -> str:
        tenant = obj.connection.tenant if obj.connection else obj.app.tenant
        return _tenant_label(tenant)

    @admin.display(description="Payload (as received)")
    def raw_payload(self, obj):
        return display.raw(obj.payload)

    @admin.action(description="Reprocess selected events", permissions=["operate"])
    def reprocess_events(self, request, queryset):
        selected = queryset.count()
        allowed = self.operable(request, queryset)
        pairs = list(allowed.values_list("app__tenant_id", "pk"))
        outcome = reprocess(allowed, requested_by=request.user.get_username())
        level = messages.SUCCESS if outcome.queued_total else messages.INFO
        self.message_user(request, outcome.message(), level)
        if pairs:
            audit_per_tenant(request, "hubspot_events.reprocess", pairs, outcome.message())
        refused = selected - outcome.queued_total - outcome.skipped_processed
        if refused:
            self.message_user(
                request,
                f"{refused} event(s) of organisations you do not administer were left alone.",
                messages.WARNING,
            )
