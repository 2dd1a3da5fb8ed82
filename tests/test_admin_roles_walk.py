"""A support lead and a tenant admin do their daily work without meeting a page they cannot use:
from the admin's home page, every link it shows (navigation included), and every link on those
pages, answers 200 and is neither a model meant for superusers (sandbox, Celery beat, worker pings,
sign-in records, users) nor another organisation's data."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from conversations.models import EscalationStatus
from core import audit
from core.models import WorkerPing
from tenants.models import Invitation, Role
from tests.factories import (
    CallbackAttemptFactory,
    ConnectionFactory,
    EscalationEventFactory,
    HubSpotEventFactory,
    InboxFactory,
    MembershipFactory,
    TenantFactory,
    escalation,
)

pytestmark = pytest.mark.django_db

# Models (admin URL prefixes) only superusers use.
SUPERUSER_ONLY = (
    "/admin/sandbox/",
    "/admin/django_celery_beat/",
    "/admin/core/workerping/",
    "/admin/axes/",
    "/admin/auth/",
    "/admin/otp_totp/",
)
# Not pages: leaving, and files a link downloads.
SKIP = ("/admin/logout/", "/static/", "/media/")
FOREIGN = "Globex"  # every row of the other organisation carries it


def organisation(tenant, name: str):
    connection = ConnectionFactory(tenant=tenant, name=f"{name} portal", app__name=f"{name} app")
    inbox = InboxFactory(connection=connection, name=f"{name} inbox")
    open_one = escalation(inbox, status=EscalationStatus.OPEN, title=f"{name} open question")
    escalation(inbox, status=EscalationStatus.CLOSED, title=f"{name} closed question")
    escalation(inbox, status=EscalationStatus.FAILED, title=f"{name} failed", failed_at=timezone.now())
    event = EscalationEventFactory(escalation=open_one, delivery_status="failed")
    CallbackAttemptFactory(event=event, url=f"https://{name.lower()}.example.com/hook")
    HubSpotEventFactory(app=connection.app, portal_id=connection.portal_id, object_id=f"{name}-thread")
    audit.record("connection.provision", tenant=tenant, target=connection, message=f"{name} provisioned")
    Invitation.objects.create(
        tenant=tenant,
        email=f"new@{name.lower()}.example.com",
        role=Role.SUPPORT_LEAD,
        expires_at=timezone.now() + timezone.timedelta(days=3),
        token_hash=f"hash-{name}",
    )
    return connection


@pytest.fixture
def world(tenant_a, tenant_b, admin_b):
    # The people are tests/conftest.py's: admin_b's membership is Globex's row in the members list.
    organisation(tenant_a, "Acme")
    organisation(tenant_b, FOREIGN)
    WorkerPing.objects.create()
    PeriodicTask.objects.create(
        name="sweep",
        task="conversations.tasks.sweep",
        interval=IntervalSchedule.objects.create(every=1, period="minutes"),
    )


LINK = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"", re.I)


def links(page_url: str, html: str) -> list[str]:
    found = []
    for href in LINK.findall(html):
        href = href.replace("&amp;", "&")
        if not href or href.startswith(("#", "mailto:", "javascript:")):
            continue
        url = urljoin(f"http://testserver{page_url}", href)
        parts = urlsplit(url)
        if parts.netloc != "testserver" or parts.path.startswith(SKIP):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def walk(client) -> dict[str, list[str]]:
    """Home, the links on it, and the links on those that lead to another path (a list's filter and
    sort variants are the same page). Returns each problem found, by URL, with where it was linked."""
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    frontier = [("/admin/", "(start)")]
    for depth in range(3):
        following = []
        for url, linked_from in frontier:
            if url in seen:
                continue
            seen.add(url)
            where = f"linked from {linked_from}"
            if url.startswith(SUPERUSER_ONLY):
                problems.setdefault(url, []).append(f"superuser-only page {where}")
                continue
            response = client.get(url)
            if response.status_code in (301, 302):
                target = response["Location"]
                if "/login/" in target:
                    problems.setdefault(url, []).append(f"redirects to sign-in, {where}")
                else:
                    following.append(
                        (
                            urlsplit(target).path
                            + (f"?{urlsplit(target).query}" if urlsplit(target).query else ""),
                            url,
                        )
                    )
                continue
            if response.status_code != 200:
                problems.setdefault(url, []).append(f"HTTP {response.status_code}, {where}")
                continue
            if not response["Content-Type"].startswith("text/html"):
                continue
            html = response.content.decode()
            if FOREIGN in html:
                problems.setdefault(url, []).append(f"shows another organisation's data, {where}")
            if depth < 2:
                path = urlsplit(url).path
                for link in links(url, html):
                    if depth == 1 and urlsplit(link).path == path:
                        continue
                    following.append((link, url))
        frontier = following
    assert len(seen) > 10, seen  # the walk did reach the pages
    return problems


def test_a_support_lead_meets_no_page_they_cannot_use(client, world, lead_a):
    client.force_login(lead_a)
    assert walk(client) == {}


def test_a_tenant_admin_meets_no_page_they_cannot_use(client, world, admin_a):
    client.force_login(admin_a)
    assert walk(client) == {}


def test_a_person_in_two_organisations_meets_no_page_they_cannot_use(client, world, lead_a):
    # Support lead at Acme, admin at Initech: both organisations' pages, never Globex's.
    initech = organisation(TenantFactory(name="Initech", slug="initech"), "Initech")
    MembershipFactory(tenant=initech.tenant, user=lead_a, role=Role.ADMIN)
    client.force_login(lead_a)
    assert walk(client) == {}
    # The walk saw both: Initech's connections (as its admin) and Acme's escalations (as lead).
    assert "Initech portal" in client.get("/admin/connections/connection/").text
    escalations = client.get("/admin/conversations/escalation/").text
    assert "Acme open question" in escalations and "Initech open question" in escalations
