"""One date-time format in the viewer's time zone (a per-user setting, UTC by default), relative
where a person scans, exact on hover."""

import datetime as dt

import pytest

from core.templatetags.hitl_time import relative_text
from tests.factories import ConnectionFactory, InboxFactory, escalation

pytestmark = pytest.mark.django_db
T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_times_follow_the_viewers_zone_and_default_to_utc(client, lead_a, tenant_a):
    esc = escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_a)), created_at=T)
    client.force_login(lead_a)
    page = client.get("/admin/conversations/escalation/").text
    assert 'datetime="2026-03-02T09:00:00Z" title="2026-03-02 09:00:00 UTC"' in page

    saved = client.post("/admin/preferences/", {"time_zone": "Asia/Tokyo"})
    assert saved.status_code == 302 and saved["Location"].endswith("/admin/preferences/")
    page = client.get("/admin/conversations/escalation/").text
    assert 'title="2026-03-02 18:00:00 JST"' in page
    detail = client.get(f"/admin/conversations/escalation/{esc.pk}/change/").text
    assert "2026-03-02 18:00:00" in detail

    # Kept across sign-ins; another person still sees UTC.
    client.logout()
    client.force_login(lead_a)
    assert 'title="2026-03-02 18:00:00 JST"' in client.get("/admin/conversations/escalation/").text


def test_an_unknown_zone_is_refused(client, lead_a):
    client.force_login(lead_a)
    response = client.post("/admin/preferences/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and "Select a valid choice" in response.text


def test_relative_wording():
    assert relative_text(T, T + dt.timedelta(seconds=20)) == "just now"
    assert relative_text(T, T + dt.timedelta(minutes=4, seconds=10)) == "4 min ago"
    assert relative_text(T, T + dt.timedelta(hours=2, minutes=5)) == "2 h 5 min ago"
    assert relative_text(T, T + dt.timedelta(days=3)) == "3 days ago"
    assert relative_text(T + dt.timedelta(minutes=10), T) == "in 10 min"
