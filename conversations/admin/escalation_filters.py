"""The escalation list's filters: inbox, connection and agent limited to the user's tenants, and a
real "created between" date range.

Django's RelatedFieldListFilter would list every tenant's inboxes and connections (their names
leak), and RelatedOnlyFieldListFilter runs a DISTINCT over the whole filtered table on every page.
These filters list choices from the small tables (inboxes, connections), and compute them only
when the sidebar is rendered (`choices()`), so the live endpoint and the CSV export, which build
the same ChangeList for its filters, do not pay for lookups they never show.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.utils import timezone

from connections.models import ConnectedInbox, Connection
from conversations.models import Escalation
from core.hostile_input import query_date
from tenants.models import Tenant, tenant_ids_for

# The agent filter offers the agents of the latest escalations only: a DISTINCT over a million
# rows per page view is not worth a dropdown entry for an agent gone for a year.
AGENT_CHOICES_FROM_LATEST = 2000


class LazyLookupsFilter(admin.SimpleListFilter):
    """A SimpleListFilter whose choices are queried when rendered, not when the list is built."""

    def lookups(self, request, model_admin):
        self._model_admin = model_admin
        return ()

    def load_lookups(self, request, model_admin):
        raise NotImplementedError

    def has_output(self):
        return True

    def choices(self, changelist):
        self.lookup_choices = list(self.load_lookups(self.request, self._model_admin))
        yield from super().choices(changelist)


class InboxFilter(LazyLookupsFilter):
    title = "inbox"
    parameter_name = "inbox"

    def load_lookups(self, request, model_admin):
        inboxes = ConnectedInbox.objects.visible_to(request.user)
        for inbox in inboxes.order_by("connection_id", "position", "id"):
            yield str(inbox.pk), f"{inbox.name or 'Inbox'} ({inbox.inbox_id})"

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            return queryset.filter(inbox_id=value) if value.isdigit() else queryset.none()
        return queryset


class OrganisationFilter(LazyLookupsFilter):
    """The organisation switcher of people in several (superusers: all); absent for the others."""

    title = "organisation"
    parameter_name = "organisation"

    def has_output(self):
        user = self.request.user
        return user.is_superuser or len(tenant_ids_for(user)) > 1

    def load_lookups(self, request, model_admin):
        for tenant in Tenant.objects.visible_to(request.user).order_by("name"):
            yield str(tenant.pk), tenant.name

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            return queryset.filter(connection__tenant_id=value) if value.isdigit() else queryset.none()
        return queryset


class ConnectionFilter(LazyLookupsFilter):
    title = "connection"
    parameter_name = "connection"

    def load_lookups(self, request, model_admin):
        connections = Connection.objects.visible_to(request.user).select_related("app")  # str() names the app
        for connection in connections.order_by("name", "portal_id"):
            yield str(connection.pk), str(connection)

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            return queryset.filter(connection_id=value) if value.isdigit() else queryset.none()
        return queryset


class AgentFilter(LazyLookupsFilter):
    title = "agent"
    parameter_name = "agent"

    def load_lookups(self, request, model_admin):
        # The latest N escalations first (an index range on created_at), then those with an agent:
        # at most N rows are read, however many a tenant has or how few were ever assigned.
        latest = (
            model_admin.get_queryset(request).order_by("-created_at").values("pk")[:AGENT_CHOICES_FROM_LATEST]
        )
        latest = (
            Escalation.objects.filter(pk__in=latest)
            .exclude(agent_actor_id="")
            .order_by("-created_at")
            .values_list("agent_actor_id", "agent_name")
        )
        agents = {}
        for actor_id, name in latest:
            agents.setdefault(actor_id, name or actor_id)
        return sorted(agents.items(), key=lambda item: item[1].lower())

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(agent_actor_id=value) if value else queryset


class CreatedBetweenFilter(admin.ListFilter):
    """`created_from` / `created_to` (YYYY-MM-DD, both inclusive, in the site's time zone)."""

    title = "created between"
    template = "admin/conversations/escalation/date_range_filter.html"
    parameters = ("created_from", "created_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.bounds: dict[str, dt.date] = {}
        for name in self.parameters:
            if name not in params:
                continue
            raw = params.pop(name)[-1].strip()
            self.used_parameters[name] = raw
            if not raw:
                continue
            # A 400 page naming the parameter (core.error_pages), not a warning over a list that
            # silently ignored the bound: an export or a bookmarked link must not widen unnoticed.
            day = query_date(name, raw)
            self.bounds[name] = day

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def _start_of(self, day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    def queryset(self, request, queryset):
        if "created_from" in self.bounds:
            queryset = queryset.filter(created_at__gte=self._start_of(self.bounds["created_from"]))
        if "created_to" in self.bounds:
            end = self._start_of(self.bounds["created_to"] + dt.timedelta(days=1))
            queryset = queryset.filter(created_at__lt=end)
        return queryset

    def choices(self, changelist):
        # One "choice": the form's state, read by the template (keeps the other filters as hidden fields).
        others = [
            (key, value)
            for key, values in changelist.params.items()
            for value in (values if isinstance(values, list) else [values])
            if key not in self.parameters and key != "p"
        ]
        yield {
            "created_from": self.used_parameters.get("created_from", ""),
            "created_to": self.used_parameters.get("created_to", ""),
            "others": others,
            "clear_url": changelist.get_query_string(remove=list(self.parameters)),
            "active": bool(self.bounds),
        }
