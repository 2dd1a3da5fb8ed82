"""The admin's home page and grouped navigation: figures per role, each linking to its list;
sandbox and Celery beat only for superusers, under Developer tools."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from conversations.models import DeliveryStatus, EscalationEvent, EscalationStatus
from tests.factories import ConnectionFactory, InboxFactory, escalation

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox_a(tenant_a):
    return InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme EU"), name="Support")


@pytest.fixture
def inbox_b(tenant_b):
    return InboxFactory(connection=ConnectionFactory(tenant=tenant_b, name="Globex"), name="Helpdesk")


def groups(html: str) -> list[str]:
    """The home page's task groups, in order (the same as the sidebar's)."""
    return re.findall(r'data-nav-group="[^"]+"[^>]*>\s*<h3[^>]*>([^<]+)</h3>', html)


def sidebar(html: str) -> list[str]:
    """The theme's sidebar group titles, in order."""
    nav = html.split('id="nav-sidebar-apps"')[1].split("</nav>")[0]
    return [title.strip() for title in re.findall(r"<h2[^>]*>\s*([^<]+?)\s*<", nav)]


def card(html: str, key: str) -> str:
    return html.split(f'data-card="{key}"')[1].split("</li>")[0]


def test_a_support_lead_sees_their_organisations_figures_with_links(client, lead_a, inbox_a, inbox_b):
    now = timezone.now()
    escalation(inbox_a, status=EscalationStatus.REQUESTED, created_at=now - dt.timedelta(minutes=30))
    escalation(inbox_a, status=EscalationStatus.OPEN, created_at=now - dt.timedelta(minutes=5))
    escalation(inbox_a, status=EscalationStatus.ASSIGNED, created_at=now - dt.timedelta(days=3))
    failed = escalation(inbox_a, status=EscalationStatus.FAILED, failed_at=now)
    for _ in range(4):  # another organisation's rows count nowhere
        escalation(inbox_b, status=EscalationStatus.OPEN)
    client.force_login(lead_a)
    html = client.get("/admin/").text

    waiting = card(html, "waiting")
    assert '<span class="hitl-card-value">2</span>' in waiting
    assert "30 min ago" in waiting and "status__in=requested,open" in waiting
    assert '<span class="hitl-card-value">1</span>' in card(html, "assigned")
    assert '<span class="hitl-card-value">3</span>' in card(html, "today")
    assert 'data-problem="failed_escalations"' in html and "1 escalation failed" in html
    # The links lead to lists that show those rows.
    listed = client.get("/admin/conversations/escalation/?status__in=requested,open")
    assert listed.status_code == 200 and listed.text.count('class="esc-badge') == 2
    assert str(failed.pk) in client.get("/admin/conversations/escalation/?status__exact=failed").text

    # Support leads manage no connection: no connection section, no sandbox, no beat tables.
    assert 'id="home-connections-title"' not in html
    assert "Sandbox" not in html and "Periodic" not in html
    # Their organisation is there to look at (read-only), nothing else.
    assert groups(html) == sidebar(html) == ["Escalations", "Organisation"], (groups(html), sidebar(html))


def test_a_tenant_admin_sees_connections_and_organisation(client, admin_a, inbox_a):
    event_esc = escalation(inbox_a, status=EscalationStatus.CLOSED)
    EscalationEvent.objects.create(
        escalation=event_esc,
        sequence=1,
        type="escalation.closed",
        occurred_at=timezone.now(),
        dedupe_key="closed",
        delivery_status=DeliveryStatus.FAILED,
    )
    client.force_login(admin_a)
    html = client.get("/admin/").text
    assert groups(html) == sidebar(html) == ["Escalations", "Connections", "Organisation"]
    assert "1 callback the bot never received" in html
    assert "Acme EU" in html and "set-up" in html  # a factory connection has no inbox: not ready
    assert "Sandbox" not in html and "Developer tools" not in html


def test_a_superuser_finds_developer_tools_grouped_with_correct_names(client, superuser):
    client.force_login(superuser)
    html = client.get("/admin/").text
    assert groups(html) == sidebar(html) == ["Escalations", "Connections", "Organisation", "Developer tools"]
    developer = html.split('data-nav-group="developer"')[1]
    assert "Sandbox inboxes" in developer and "inboxs" not in html
    assert "Periodic tasks" in developer.replace("Periodic Tasks", "Periodic tasks")
    assert "Organisations" in html and "Tenants" not in html


def test_organisation_is_the_name_everywhere(client, admin_a, superuser, tenant_a):
    from tests.factories import ConnectionFactory

    ConnectionFactory(tenant=tenant_a)
    client.force_login(superuser)
    listing = client.get("/admin/connections/connection/").text
    assert "column-organisation_column" in listing and re.search(r">\s*Organisation\s*<", listing)
    assert "By tenant" not in listing
    client.force_login(admin_a)
    form = client.get("/admin/connections/hubspotapp/add/").text
    labels = [label.strip() for label in re.findall(r"<label[^>]*>\s*([^<]+)", form)]
    assert "Organisation" in labels and "Tenant" not in labels, labels
