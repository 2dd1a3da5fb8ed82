"""Escalations in the admin: the support lead's console.

- The list shows status, agent, inbox, contact, ids (the HubSpot thread linked), timings; it is
  filtered by status, inbox, connection, agent, creation dates and outcome, searched by phone,
  email and ids, and refreshes itself every few seconds from `live/` (escalation_live.py).
- An escalation's page is read-only for everyone: its transcript as a chat and its timeline
  (conversations/timeline.py); admins of its tenant also get the actions (operator_actions.py),
  declared in ESCALATION_ACTIONS below and POSTed to `<id>/actions/<name>/` (core/admin_actions.py).
- `export.csv` streams the filtered list (escalation_export.py).

Support leads see everything here read-only (support_lead_access = "view"); another tenant's
escalation is a 404 on every URL, including the live feed and the export.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from connections.models import Connection
from conversations import operator_actions, timeline
from conversations.admin import escalation_display as display
from conversations.admin import escalation_export, escalation_live
from conversations.admin.escalation_changelist import CappedCountPaginator, EscalationChangeList
from conversations.admin.escalation_filters import (
    AgentFilter,
    ConnectionFilter,
    CreatedBetweenFilter,
    InboxFilter,
    OrganisationFilter,
)
from conversations.admin.transcript import chat_lines
from conversations.models import (
    DeliveryStatus,
    Escalation,
    EscalationStatus,
    MessageDirection,
    PublishStatus,
)
from conversations.queue import describe_wait, ordinal
from conversations.search import escalation_search
from core.admin_actions import ObjectActions
from core.templatetags.hitl_time import exact_text, when
from tenants.admin_mixins import TenantScopedAdmin
from tenants.models import tenant_ids_for

PAGES = "admin/conversations/escalation/"

ESCALATION_ACTIONS = ObjectActions(
    "conversations_escalation",
    refusal="Support leads can look, not act: ask an admin of this organisation.",
)


@ESCALATION_ACTIONS.register("retry-callbacks", "Retry failed callbacks", audit="escalation.retry_callbacks")
def _retry_callbacks(modeladmin, request, esc):
    return operator_actions.retry_callbacks(esc, user=request.user)


@ESCALATION_ACTIONS.register("resend-publish", "Resend failed publish", audit="escalation.resend_publish")
def _resend_publish(modeladmin, request, esc):
    return operator_actions.resend_failed_publish(esc, user=request.user)


@ESCALATION_ACTIONS.register(
    "close",
    "Close escalation",
    confirm="Close this escalation and its HubSpot thread?",
    audit="escalation.close",
)
def _close(modeladmin, request, esc):
    return operator_actions.close(esc, user=request.user)


def _when(value):
    # Relative where a person scans ("4 min ago"), the exact time in their zone on hover
    # (core/templatetags/hitl_time.py: one format across the admin; static/core/time.js keeps it true).
    return when(value) if value else ""


@admin.register(Escalation)
class EscalationAdmin(TenantScopedAdmin):
    support_lead_access = "view"

    # Chosen to fit 1280 px beside the sidebar: who (title, contact, conversation), with whom (agent,
    # time to assign), where (inbox, thread), when (opened, ended). Long values are cut with the
    # whole value on hover (tests/test_browser_wide_tables.py).
    list_display = (
        "status_col",
        "title_col",
        "agent_col",
        "inbox_col",
        "opened_col",
        "closed_col",
    )
    list_display_links = ("title_col",)
    list_filter = (
        "status",
        OrganisationFilter,
        InboxFilter,
        ConnectionFilter,
        AgentFilter,
        CreatedBetweenFilter,
        "close_reason",
        "failure_reason",
    )
    # inbox and connection are read by the cells (names, the thread link's portal id); the tenant
    # by the superuser's tenant column. One JOINed query per page, whatever its length.
    list_select_related = ("inbox", "connection", "connection__tenant", "closed_by")
    # The search is ours (get_search_results); one field here makes Django show the box.
    search_fields = ("conversation_id",)
    search_help_text = (
        "Contact name, phone (with country code, any spacing) or email, as the bot sent it or as HubSpot "
        "knows the contact; conversation id, HubSpot thread id or escalation id."
    )
    ordering = ("-created_at",)
    # Only the indexed column sorts: any other ORDER BY over a million rows is a full sort.
    sortable_by = ("opened_col",)
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedCountPaginator
    actions = None
    change_list_template = PAGES + "change_list.html"

    class Media:
        js = display.MEDIA_JS
        css = display.MEDIA_CSS

    # -- columns ----------------------------------------------------------------------------------
    @admin.display(description="Status")
    def status_col(self, obj):
        return display.status_badge(obj)

    @admin.display(description="Escalation")
    def title_col(self, obj):
        title = obj.title or "(untitled)"
        contact = " · ".join(part for part in (display.contact_name(obj), display.contact_line(obj)) if part)
        return format_html(
            '<span class="esc-trunc" title="{}">{}</span><br>'
            '<span class="esc-trunc esc-contact" title="{}">{}</span><br>'
            '<span class="esc-quiet esc-conv" title="{}">{}</span>',
            title,
            title,
            contact or "No contact details",
            contact or "—",
            obj.conversation_id,
            obj.conversation_id,
        )

    @admin.display(description="Agent or queue")
    def agent_col(self, obj):
        """The agent and the time to assign; a row still waiting has no agent, so its cell holds its
        place in the inbox's queue instead (one column: the list fits 1280 px)."""
        agent = display.agent_label(obj)
        if not agent and not obj.assigned_at:
            return self.queue_cell(obj)
        return format_html(
            '<span class="esc-trunc esc-narrow" title="{}">{}</span>{}',
            agent,
            agent or "—",
            format_html(
                '<br><span class="esc-quiet" title="Assigned at {}">after {}</span>',
                exact_text(obj.assigned_at),
                display.human_duration(display.seconds_to_assign(obj)),
            )
            if obj.assigned_at
            else "",
        )

    def queue_cell(self, obj):
        """Waiting rows: the place in the inbox's queue and the estimated wait (conversations/queue.py)."""
        found = getattr(obj, "page_queue", None)
        if not found:
            return "—"
        wait = describe_wait(found["estimated_wait_seconds"]) or "no estimate yet"
        return format_html(
            '<span class="esc-queue" title="Estimate basis: {}">{} in line</span><br>'
            '<span class="esc-quiet">{}</span>',
            found["basis"],
            ordinal(found["position"]),
            wait,
        )

    @admin.display(description="Inbox")
    def inbox_col(self, obj):
        inbox = display.inbox_label(obj) or "—"
        thread = display.thread_link(obj)
        return format_html(
            '<span class="esc-trunc esc-narrow" title="{}">{}</span>{}',
            inbox,
            inbox,
            format_html('<br><span class="esc-quiet">thread {}</span>', thread) if thread else "",
        )

    @admin.display(description="Opened", ordering="created_at")
    def opened_col(self, obj):
        opened = exact_text(obj.opened_at) or "not yet"
        return format_html(
            '{}<br><span class="esc-quiet" title="Thread opened in HubSpot at {}">requested</span>',
            _when(obj.created_at),
            opened,
        )

    @admin.display(description="Ended")
    def closed_col(self, obj):
        ended = _when(obj.closed_at or obj.failed_at)
        if not ended:
            return "—"
        return format_html(
            '{}<br><span class="esc-quiet">after {}</span><br><span class="esc-quiet esc-ended-by">{}</span>',
            ended,
            display.human_duration(display.seconds_to_close(obj)),
            display.ended_by(obj),
        )

    @admin.display(description="Organisation")
    def tenant_col(self, obj):
        name = obj.connection.tenant.name
        return format_html('<span class="esc-trunc esc-narrow" title="{}">{}</span>', name, name)

    def get_list_display(self, request):
        # Only people in several organisations (and superusers) need the column; for anyone else
        # it would be constant.
        if request.user.is_superuser or len(tenant_ids_for(request.user)) > 1:
            return (*self.list_display, "tenant_col")
        return self.list_display

    # -- the list ---------------------------------------------------------------------------------
    def get_queryset(self, request):
        """The user's tenants' escalations, as TenantScopedAdmin's, but by connection id.

        `connection__tenant__in` is a JOIN the planner cannot see through: "newest 50 of this
        tenant" then walks the global created_at index and drops other tenants' rows (99 % of them
        with 100 tenants). A literal `connection_id IN (…)` (one small query per request, cached on
        it) lets it read the (connection, created_at) index directly.
        """
        qs = super(TenantScopedAdmin, self).get_queryset(request)
        if request.user.is_superuser:
            return qs
        cached = getattr(request, "_escalation_connection_ids", None)
        if cached is None:
            tenant_ids = self._tenant_ids(request, self._viewer_roles())
            cached = list(Connection.objects.filter(tenant_id__in=tenant_ids).values_list("pk", flat=True))
            request._escalation_connection_ids = cached
        return qs.filter(connection_id__in=cached)

    def get_changelist(self, request, **kwargs):
        return EscalationChangeList

    def get_search_results(self, request, queryset, search_term):
        q = escalation_search(search_term)
        if q is None:
            return queryset, False
        return queryset.filter(q), False

    def changelist_view(self, request, extra_context=None):
        # The live feed starts from before the page's query, so nothing changed meanwhile is missed.
        context = {
            "title": "Escalations",  # not "Select escalation to change": nothing here is edited
            "live_cursor": escalation_live.cursor_now(),
            "live_url": reverse("admin:conversations_escalation_live"),
            "live_poll_ms": escalation_live.POLL_MS,
            "export_url": reverse("admin:conversations_escalation_export"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    # -- who may do what --------------------------------------------------------------------------
    def has_add_permission(self, request):
        return False  # bots create escalations through the API

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail of a conversation is not deleted from the console

    def can_act(self, request, obj) -> bool:
        return self.has_change_permission(request, obj)

    # -- object actions (core/admin_actions.py) ---------------------------------------------------
    def get_action_object(self, request, object_id) -> Escalation:
        return self._visible(request, object_id)

    def has_action_permission(self, request, obj) -> bool:
        return self.can_act(request, obj)

    # -- URLs -------------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("live/", view(self.live_view), name="conversations_escalation_live"),
            path("export.csv", view(self.export_view), name="conversations_escalation_export"),
            *ESCALATION_ACTIONS.urls(self),
        ]
        return own + super().get_urls()

    def live_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return escalation_live.respond(self, request)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return escalation_export.respond(self, request)

    # -- the detail page --------------------------------------------------------------------------
    def _visible(self, request, object_id) -> Escalation:
        try:
            uuid.UUID(str(object_id))
        except ValueError:
            raise Http404("No such escalation.") from None
        self._ensure_visible(request, object_id)
        return (
            self.get_queryset(request)
            .select_related("inbox", "connection", "connection__tenant", "closed_by")
            .get(pk=object_id)
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        esc = self._visible(request, object_id)
        if not self.has_view_permission(request, esc):
            raise PermissionDenied
        # Read-only for everyone: there is no form, so a POST here changes nothing either.
        msgs = list(esc.messages.order_by("position"))
        can_act = self.can_act(request, esc)
        failed_callbacks = esc.events.filter(delivery_status=DeliveryStatus.FAILED).count() if can_act else 0
        failed_publishes = sum(
            1
            for m in msgs
            if m.direction == MessageDirection.TO_AGENT and m.publish_status == PublishStatus.FAILED
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": esc,
            "title": esc.title or "Escalation",
            "subtitle": None,
            "esc": esc,
            "badge": display.status_badge(esc),
            "contact": display.contact_line(esc),
            "contact_name": display.contact_name(esc),
            "agent": display.agent_label(esc),
            "inbox": display.inbox_label(esc),
            "thread_link": display.thread_link(esc),
            "to_assign": display.human_duration(display.seconds_to_assign(esc)),
            "to_close": display.human_duration(display.seconds_to_close(esc)),
            "ended_by": display.ended_by(esc),
            "chat": chat_lines(esc, msgs),
            "timeline": timeline.build(esc, msgs),
            "can_act": can_act,
            "can_close": can_act and esc.status not in (EscalationStatus.CLOSED, EscalationStatus.FAILED),
            "failed_callbacks": failed_callbacks,
            "failed_publishes": failed_publishes,
            "can_resend": can_act and failed_publishes and esc.status != EscalationStatus.FAILED,
            "has_view_permission": True,
            "media": self.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, PAGES + "detail.html", context)

    def history_view(self, request, object_id, extra_context=None):
        self._visible(request, object_id)  # a malformed id is a 404 too, not a ValidationError
        return super().history_view(request, object_id, extra_context)
