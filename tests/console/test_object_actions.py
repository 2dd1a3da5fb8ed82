"""The one mechanism for admin object actions (core/admin_actions.py), across the connection and
escalation admins: every button's URL is a declared action, and the mechanism refuses, scopes,
redirects and audits the same way for all of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.urls import resolve

from connections.admin.actions import CONNECTION_ACTIONS
from connections.models import ConnectionStatus
from conversations.admin.escalations import ESCALATION_ACTIONS
from conversations.models import EscalationEvent, EscalationStatus, EventType
from core.admin_actions import NOTHING_DONE, ObjectActions
from core.models import AuditLogEntry
from tests.factories import escalation

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REGISTRIES = {"connections_connection": CONNECTION_ACTIONS, "conversations_escalation": ESCALATION_ACTIONS}


def esc_action(esc, name):
    return f"/admin/conversations/escalation/{esc.pk}/actions/{name}/"


def conn_action(connection, name):
    return f"/admin/connections/connection/{connection.pk}/actions/{name}/"


def test_every_action_button_in_the_templates_is_a_declared_action():
    used: dict[str, set[str]] = {model: set() for model in REGISTRIES}
    pattern = re.compile(r"url 'admin:(\w+)_action' [\w.]+ '([\w-]+)'")
    for template in (ROOT / "templates").rglob("*.html"):
        for model, name in pattern.findall(template.read_text()):
            used[model].add(name)
    for model, registry in REGISTRIES.items():
        assert used[model] == set(registry.actions), model
        for action in registry.actions.values():
            assert action.label and action.handler


def test_the_action_urls_are_served_by_the_mechanism(inbox_a):
    esc = escalation(inbox_a)
    for url in (esc_action(esc, "close"), conn_action(inbox_a.connection, "register")):
        view = resolve(url).func
        assert view.__wrapped__.__qualname__ == "ObjectActions.urls.<locals>.view"


def test_a_get_changes_nothing_and_goes_back_to_the_object_at_its_panel(client, admin_a, inbox_a):
    connection = inbox_a.connection
    client.force_login(admin_a)
    response = client.get(conn_action(connection, "disconnect"))
    assert response.status_code == 302
    assert response["Location"] == f"/admin/connections/connection/{connection.pk}/change/#top"
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert NOTHING_DONE in client.get(response["Location"]).content.decode()
    assert not AuditLogEntry.objects.exists()


def test_a_user_who_may_only_look_is_refused_with_403_and_nothing_is_audited(client, lead_a, inbox_a):
    esc = escalation(inbox_a, status=EscalationStatus.ASSIGNED)
    client.force_login(lead_a)
    assert client.post(esc_action(esc, "close")).status_code == 403
    # Connections are not shown to support leads at all: not found rather than refused.
    assert client.post(conn_action(inbox_a.connection, "disconnect")).status_code == 404
    inbox_a.connection.refresh_from_db()
    esc.refresh_from_db()
    assert inbox_a.connection.status == ConnectionStatus.ACTIVE and esc.status == EscalationStatus.ASSIGNED
    assert not AuditLogEntry.objects.exists()


def test_another_tenants_object_is_a_404_even_for_a_get(client, admin_b, inbox_a):
    esc = escalation(inbox_a, status=EscalationStatus.ASSIGNED)
    client.force_login(admin_b)
    for url in (conn_action(inbox_a.connection, "disconnect"), esc_action(esc, "close")):
        assert client.post(url).status_code == 404
        assert client.get(url).status_code == 404
    assert (
        client.post(
            f"/admin/connections/connection/{inbox_a.connection.pk + 999}/actions/register/"
        ).status_code
        == 404
    )
    assert not AuditLogEntry.objects.exists()


def test_an_unknown_action_is_a_404(client, admin_a, inbox_a):
    client.force_login(admin_a)
    assert client.post(conn_action(inbox_a.connection, "explode")).status_code == 404


def test_one_audit_entry_per_post_and_a_double_post_is_harmless(client, admin_a, inbox_a):
    esc = escalation(inbox_a, status=EscalationStatus.ASSIGNED)
    client.force_login(admin_a)
    first = client.post(esc_action(esc, "close"))
    assert (
        first.status_code == 302 and first["Location"] == f"/admin/conversations/escalation/{esc.pk}/change/"
    )
    entries = AuditLogEntry.objects.filter(action="escalation.close")
    assert list(entries.values_list("outcome", "actor", "target_id", "tenant")) == [
        ("success", admin_a.pk, str(esc.pk), inbox_a.connection.tenant_id)
    ]
    # The same POST again (a double click, a resubmitted form): nothing more happens.
    second = client.post(esc_action(esc, "close"), follow=True)
    assert "already closed" in second.content.decode()
    esc.refresh_from_db()
    assert esc.status == EscalationStatus.CLOSED
    assert EscalationEvent.objects.filter(escalation=esc, type=EventType.CLOSED).count() == 1
    assert list(entries.order_by("pk").values_list("outcome", flat=True)) == ["success", "failure"]


class _Outcome:
    def __init__(self, ok, message):
        self.ok, self.message = ok, message


class _Admin:
    """What the mechanism needs of a model admin, for the checks it makes itself."""

    def __init__(self, obj, may_act=True):
        self.obj, self.may_act = obj, may_act

    def get_action_object(self, request, object_id):
        return self.obj

    def has_action_permission(self, request, obj):
        return self.may_act


def test_the_mechanism_itself(rf, admin_a, inbox_a):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.core.exceptions import PermissionDenied

    esc = escalation(inbox_a)
    registry = ObjectActions("conversations_escalation", refusal="no")
    calls = []

    @registry.register("plain", "Plain", audit="test.plain")
    def plain(modeladmin, request, obj):
        calls.append(obj.pk)
        return _Outcome(True, "done")

    @registry.register("page", "Page", allowed=lambda m, r, o: r.user.username == "alice", refusal="not you")
    def page(modeladmin, request, obj):
        return HttpResponse("its own page")

    with pytest.raises(ValueError):
        registry.register("plain", "Again")(plain)

    def request(method="post"):
        req = getattr(rf, method)("/")
        req.user, req.session = admin_a, {}
        req._messages = FallbackStorage(req)
        return req

    response = registry.view(_Admin(esc), request(), esc.pk, "plain")
    assert response.status_code == 302 and calls == [esc.pk]
    (entry,) = AuditLogEntry.objects.filter(action="test.plain")
    assert entry.tenant == inbox_a.connection.tenant and entry.message == "done"
    assert registry.view(_Admin(esc), request("get"), esc.pk, "plain").status_code == 302
    assert calls == [esc.pk]
    assert registry.view(_Admin(esc), request(), esc.pk, "page").content == b"its own page"
    with pytest.raises(PermissionDenied):
        registry.view(_Admin(esc, may_act=False), request(), esc.pk, "plain")
    admin_a.username = "mallory"
    with pytest.raises(PermissionDenied, match="not you"):
        registry.view(_Admin(esc), request(), esc.pk, "page")
    assert calls == [esc.pk] and AuditLogEntry.objects.count() == 1
