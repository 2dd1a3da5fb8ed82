"""The admin of business hours (the inbox page with its hours and holidays) and SLA thresholds
(inline on the connection page): editable by the tenant's admins, visible to nobody else."""

import datetime as dt

import pytest
from django.urls import reverse

from connections.models import Connection, Holiday, OpeningHours, SlaThreshold
from tests.factories import InboxFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def inbox_url(inbox) -> str:
    return reverse("admin:connections_connectedinbox_change", args=[inbox.pk])


@pytest.fixture
def inbox_a(tenant_a):
    return InboxFactory(connection__tenant=tenant_a)


@pytest.fixture
def inbox_b(tenant_b):
    return InboxFactory(connection__tenant=tenant_b)


def post_hours(client, inbox, **extra):
    data = {
        "time_zone": "Europe/London",
        "opening_hours-TOTAL_FORMS": "1",
        "opening_hours-INITIAL_FORMS": "0",
        "opening_hours-0-weekday": "0",
        "opening_hours-0-opens_at": "22:00",
        "opening_hours-0-closes_at": "06:00",
        "holidays-TOTAL_FORMS": "1",
        "holidays-INITIAL_FORMS": "0",
        "holidays-0-date": "2026-12-25",
        "holidays-0-name": "Christmas Day",
        **extra,
    }
    return client.post(inbox_url(inbox), data)


def test_a_tenant_admin_sets_hours_and_holidays_on_the_inbox_page(client, admin_a, inbox_a):
    client.force_login(admin_a)
    page = client.get(inbox_url(inbox_a))
    assert page.status_code == 200
    assert b"IANA time zone" in page.content and b"runs overnight" in page.content  # help texts

    assert post_hours(client, inbox_a).status_code == 302
    inbox_a.refresh_from_db()
    assert inbox_a.time_zone == "Europe/London"
    (hours,) = OpeningHours.objects.filter(inbox=inbox_a)
    assert (hours.opens_at, hours.closes_at) == (dt.time(22), dt.time(6))
    assert Holiday.objects.get(inbox=inbox_a).name == "Christmas Day"


def test_an_unknown_time_zone_is_refused_with_a_message(client, admin_a, inbox_a):
    client.force_login(admin_a)
    response = post_hours(client, inbox_a, time_zone="Mars/Olympus")
    assert response.status_code == 200 and b"is not an IANA time zone" in response.content
    assert not OpeningHours.objects.exists()


def test_another_tenant_and_a_support_lead_cannot_change_hours(client, admin_a, inbox_b, tenant_a, inbox_a):
    client.force_login(admin_a)
    assert client.get(inbox_url(inbox_b)).status_code in (302, 403, 404)
    assert post_hours(client, inbox_b).status_code in (302, 403, 404)
    assert not OpeningHours.objects.filter(inbox=inbox_b).exists()
    lead = MembershipFactory(tenant=tenant_a, user=UserFactory(is_staff=True), role="support_lead").user
    client.force_login(lead)
    post_hours(client, inbox_a)
    assert not OpeningHours.objects.exists()


def test_sla_thresholds_are_edited_inline_on_the_connection_page(client, admin_a, inbox_a, inbox_b):
    connection = inbox_a.connection
    client.force_login(admin_a)
    url = reverse("admin:connections_connection_change", args=[connection.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"SLA thresholds" in page.content
    assert b"Breached after this many minutes" in page.content
    data = {
        "name": connection.name,
        "unknown_contact": "refuse",
        "outside_hours": "refuse",
        "sla_thresholds-TOTAL_FORMS": "2",
        "sla_thresholds-INITIAL_FORMS": "0",
        "sla_thresholds-0-kind": "agent_silent",
        "sla_thresholds-0-minutes": "10",
        "sla_thresholds-0-action": "email",
        "sla_thresholds-1-kind": "agent_silent",
        "sla_thresholds-1-minutes": "5",
        "sla_thresholds-1-action": "close",
        "sla_thresholds-1-inbox": str(inbox_b.pk),  # another tenant's inbox
    }
    response = client.post(url, data)
    assert response.status_code == 200  # refused: not a choice
    assert not SlaThreshold.objects.exists()
    data["sla_thresholds-1-inbox"] = str(inbox_a.pk)
    assert client.post(url, data).status_code == 302
    assert set(SlaThreshold.objects.values_list("kind", "inbox_id", "minutes", "action")) == {
        ("agent_silent", None, 10, "email"),
        ("agent_silent", inbox_a.pk, 5, "close"),
    }
    assert Connection.objects.get(pk=connection.pk).outside_hours == "refuse"
