"""Every admin list's filters, search, ordering and paging, and the dashboard, with hostile values:
never a 500 (on PostgreSQL, where type and encoding errors surface), and a date parameter given
something that is not a date in range is a 400 (never silently ignored)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.test import Client, RequestFactory
from django.urls import reverse

from conversations.admin.escalation_filters import CreatedBetweenFilter
from tests.factories import ConnectionFactory, InboxFactory, escalation

pytestmark = pytest.mark.postgres

HOSTILE = [
    "\x00",
    "\ud800",
    "' OR 1=1 --",
    "-99999999999999999999999",
    "%__all__[]",
]
# The edges of the dates Python and PostgreSQL can hold: what a date parameter is tried with on
# top of the values above. To any other parameter they are one more string, as the third one is.
DATE_EDGES = ["9999-12-31", "0001-01-01", "0001-01-05"]
GENERIC = ["q", "o", "p", "all", "e", "_changelist_filters"]


def filter_parameters(model_admin, user) -> tuple[list[str], set[str]]:
    """(every query parameter the list reads, those of them that carry a date)."""
    request = RequestFactory().get("/")
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    names = set(GENERIC)
    dates = set()
    for spec in changelist.filter_specs:
        names.update(spec.expected_parameters())
        if isinstance(spec, DateFieldListFilter):
            dates.update(name for name in spec.expected_parameters() if not name.endswith("__isnull"))
        if isinstance(spec, CreatedBetweenFilter):
            dates.update(spec.expected_parameters())
    if model_admin.date_hierarchy:
        hierarchy = {f"{model_admin.date_hierarchy}__{unit}" for unit in ("year", "month", "day")}
        names.update(hierarchy)
        dates.update(hierarchy)
    return sorted(names), dates


def changelists():
    return sorted((model._meta.app_label, model._meta.model_name) for model in admin.site._registry)


@pytest.fixture
def people(superuser, lead_a, tenant_a):
    escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme")))
    # The superuser sees every filter; a support lead sees the tenant-scoped querysets.
    return {"superuser": superuser, "support lead": lead_a}


@pytest.mark.parametrize(("app_label", "model_name"), changelists())
def test_every_admin_list_survives_hostile_filters(people, app_label, model_name):
    from django.apps import apps

    model = apps.get_model(app_label, model_name)
    model_admin = admin.site._registry[model]
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    # A support lead too where tenancy scopes the list's querysets and filter choices.
    who_tries = people if hasattr(model, "tenant_lookup") else {"superuser": people["superuser"]}
    for who, user in who_tries.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        names, dates = filter_parameters(model_admin, people["superuser"])
        can_see = client.get(url).status_code == 200
        for name in names:
            for value in HOSTILE + DATE_EDGES if name in dates else HOSTILE:
                query = urlencode({name: value.encode("utf-8", "surrogatepass")})
                response = client.get(f"{url}?{query}")
                assert response.status_code < 500, (who, url, name, value[:40], response.status_code)
                if name in dates and can_see:
                    # none of the hostile values is a date in range
                    assert response.status_code == 400, (who, url, name, value[:40], response.status_code)


def test_the_dashboard_survives_hostile_periods(people):
    url = "/admin/conversations/dashboard/"
    for user in people.values():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for value in HOSTILE + DATE_EDGES:
            bad = value.encode("utf-8", "surrogatepass")
            for period in (
                {"from": bad},
                {"to": bad},
                {"from": bad, "to": bad},
                {"from": "2026-01-01", "to": bad},
            ):
                response = client.get(f"{url}?{urlencode(period)}")
                assert response.status_code == 400, (url, period, response.status_code)
