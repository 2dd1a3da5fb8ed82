"""Every log admin: read-only for everyone (no add, change or delete, superusers included), support
leads see their tenant's rows with no actions, nobody sees another tenant's rows by list or URL,
and each list costs the same number of queries whatever the page size."""

import re

import pytest
from django.contrib import admin
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import CallbackAttempt, EscalationEvent, HubSpotEvent, WebhookReceipt
from tests.console_logs.conftest import change_url, changelist_url
from tests.factories import (
    CallbackAttemptFactory,
    ConnectionFactory,
    EscalationEventFactory,
    EscalationFactory,
    HubSpotEventFactory,
    WebhookReceiptFactory,
)

pytestmark = pytest.mark.django_db
MODELS = [WebhookReceipt, HubSpotEvent, EscalationEvent, CallbackAttempt]


def make(model, connection, **extra):
    """One row of `model` belonging to `connection`'s tenant, with its own related rows."""
    if model is WebhookReceipt:
        return WebhookReceiptFactory(app=connection.app, **extra)
    if model is HubSpotEvent:
        escalation = EscalationFactory(connection=connection)
        return HubSpotEventFactory(app=connection.app, connection=connection, escalation=escalation, **extra)
    if model is EscalationEvent:
        return EscalationEventFactory(escalation=EscalationFactory(connection=connection), **extra)
    return CallbackAttemptFactory(event__escalation=EscalationFactory(connection=connection), **extra)


@pytest.fixture
def rows(conn_a, conn_b):
    return {model: (make(model, conn_a), make(model, conn_b)) for model in MODELS}


def url(model, view, *args):
    return reverse(f"admin:conversations_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("who", ["superuser", "admin_a", "lead_a"])
def test_nobody_adds_changes_or_deletes(client, request, rows, model, who):
    user = request.getfixturevalue(who)
    own, _ = rows[model]
    client.force_login(user)
    assert client.get(url(model, "add")).status_code == 403
    page = client.get(change_url(own))
    assert page.status_code == 200 and "Hub spot" not in page.text
    assert 'name="_save"' not in page.text and "deletelink" not in page.text
    assert client.post(change_url(own), {}).status_code == 403
    assert client.get(url(model, "delete", own.pk)).status_code == 403
    assert client.post(url(model, "delete", own.pk), {"post": "yes"}).status_code == 403
    listing = client.get(changelist_url(model))
    assert "delete_selected" not in listing.text and url(model, "add") not in listing.text
    # a crafted bulk delete is not an available action either
    client.post(
        changelist_url(model), {"action": "delete_selected", "_selected_action": [own.pk], "post": "yes"}
    )
    assert model.objects.filter(pk=own.pk).exists()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("who", ["admin_a", "lead_a"])
def test_tenant_sees_only_own_rows(client, request, tenant_a, rows, model, who):
    own, foreign = rows[model]
    client.force_login(request.getfixturevalue(who))
    listed = {o.pk for o in client.get(changelist_url(model)).context["cl"].result_list}
    # (other models' rows made their own receipts and events: all of tenant A's rows, no more)
    assert own.pk in listed and foreign.pk not in listed
    assert listed == set(model.objects.for_tenants([tenant_a.pk]).values_list("pk", flat=True))
    assert client.get(change_url(foreign)).status_code == 404
    assert client.get(url(model, "history", foreign.pk)).status_code == 404
    assert client.get(change_url(own)).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_superuser_sees_every_tenant_with_its_name(client, superuser, rows, model):
    client.force_login(superuser)
    response = client.get(changelist_url(model))
    assert {o.pk for o in response.context["cl"].result_list} == set(
        model.objects.values_list("pk", flat=True)
    )
    assert "Acme" in response.text and "Globex" in response.text


@pytest.mark.parametrize("model", [HubSpotEvent, EscalationEvent], ids=lambda m: m.__name__)
def test_only_admins_get_the_actions(client, admin_a, lead_a, superuser, rows, model):
    for user, has_actions in ((superuser, True), (admin_a, True), (lead_a, False)):
        client.force_login(user)
        html = client.get(changelist_url(model)).text
        assert ('name="action"' in html) is has_actions, user


def test_people_outside_any_tenant_see_no_log(client, rows, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="staffer"))
    for model in MODELS:
        assert client.get(changelist_url(model)).status_code == 403
        assert client.get(change_url(rows[model][0])).status_code in (403, 404)


def test_log_names_read_well_in_the_app_list(client, lead_a):
    client.force_login(lead_a)
    html = client.get(reverse("admin:app_list", args=["conversations"])).text
    for name in ("HubSpot events", "Webhook receipts", "Callback attempts"):
        assert re.search(rf">\s*{name}\s*</", html), name
    assert "Hub spot" not in html
    listing = client.get(changelist_url(HubSpotEvent)).text
    assert re.search(r">\s*HubSpot events\s*</", listing) and "Hub spot" not in listing


# -- query counts ---------------------------------------------------------------------------------


def list_queries(client, model, page_size, monkeypatch) -> int:
    monkeypatch.setattr(admin.site._registry[model], "list_per_page", page_size)
    with CaptureQueriesContext(db_connection) as captured:
        response = client.get(changelist_url(model))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == page_size
    return len(captured)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("who", ["superuser", "lead_a"])
def test_list_query_count_does_not_grow_with_the_page(client, request, tenant_a, model, who, monkeypatch):
    # Each row with its own connection, app, escalation and event: an N+1 per row, or per
    # connection in the filters, would show between 3 rows on a page of 3 and 30 on a page of 30.
    client.force_login(request.getfixturevalue(who))
    for _ in range(3):
        make(model, ConnectionFactory(tenant=tenant_a))
    small = list_queries(client, model, 3, monkeypatch)
    for _ in range(27):
        make(model, ConnectionFactory(tenant=tenant_a))
    large = list_queries(client, model, 30, monkeypatch)
    assert small == large, f"{model.__name__}: {small} queries for 3 rows, {large} for 30"
