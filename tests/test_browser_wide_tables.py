"""Wide tables stay readable at 1280 px: on every main list of the admin (as a superuser, who also
gets the organisation column), with long real-world values, the page never scrolls sideways, every
column is inside the table's card (or the card scrolls: nothing is clipped), and a value cut with an
ellipsis carries its whole text in a title (shown on hover). Screenshots go to var/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conversations.models import DeliveryStatus, EscalationStatus, HubSpotEvent, WebhookReceipt
from core.models import AuditLogEntry
from tenants.models import Invitation, Role
from tests.accessibility import screenshots
from tests.browser import log_in
from tests.factories import (
    CallbackAttemptFactory,
    ConnectionFactory,
    EscalationEventFactory,
    HubSpotEventFactory,
    InboxFactory,
    WebhookReceiptFactory,
    escalation,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTS = {
    "escalations": "/admin/conversations/escalation/",
    "hubspot-events": "/admin/conversations/hubspotevent/",
    "webhook-receipts": "/admin/conversations/webhookreceipt/",
    "escalation-events": "/admin/conversations/escalationevent/",
    "callback-attempts": "/admin/conversations/callbackattempt/",
    "connections": "/admin/connections/connection/",
    "hubspot-apps": "/admin/connections/hubspotapp/",
    "audit-log": "/admin/core/auditlogentry/",
    "members": "/admin/tenants/membership/",
    "invitations": "/admin/tenants/invitation/",
}

# Measured in the page: how the results table sits in the viewport and in its card.
MEASURE = """() => {
  const viewport = document.documentElement.clientWidth;
  const out = {pageOverflow: document.documentElement.scrollWidth - viewport, problems: [], rows: 0};
  const table = document.getElementById('result_list');
  if (!table) { out.problems.push('no results table'); return out; }
  out.rows = table.querySelectorAll('tbody tr').length;
  let box = table.parentElement;
  while (box && getComputedStyle(box).overflowX === 'visible') { box = box.parentElement; }
  const scrolls = box && ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
  const card = (box || document.body).getBoundingClientRect();
  if (card.right > viewport + 0.5) { out.problems.push('the card is wider than the window'); }
  out.tableRight = Math.round(table.getBoundingClientRect().right);
  out.cardRight = Math.round(card.right);
  for (const th of table.querySelectorAll('thead th')) {
    const r = th.getBoundingClientRect();
    if (r.right > card.right + 0.5) {
      out.problems.push((scrolls ? 'scrolled out of view: ' : 'clipped: ') + th.textContent.trim());
    }
  }
  // A card that scrolls brings its last column into view.
  if (scrolls) {
    box.scrollLeft = box.scrollWidth;
    const last = [...table.querySelectorAll('thead th')].pop().getBoundingClientRect();
    if (last.right > card.right + 1) { out.problems.push('clipped: the last column never scrolls in'); }
    box.scrollLeft = 0;
  }
  for (const el of table.querySelectorAll('tbody *')) {
    const style = getComputedStyle(el);
    if (style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1) {
      const holder = el.closest('[title]');
      const title = holder ? holder.getAttribute('title') : '';
      if (!title || !title.includes(el.textContent.trim().slice(0, 20))) {
        out.problems.push('cut without its whole value on hover: ' + el.textContent.trim().slice(0, 40));
      }
    }
  }
  return out;
}"""


@pytest.fixture
def busy_lists(tenant_a, tenant_b, admin_a, admin_b, lead_a, superuser):
    """Two organisations' worth of long, realistic rows in every main list; the people are the
    shared ones of tests/conftest.py (their memberships fill the members list)."""
    tenant_a.name = "Acme Logistics International (EMEA)"
    tenant_a.save(update_fields=["name"])
    now = timezone.now()
    for tenant in (tenant_a, tenant_b):
        connection = ConnectionFactory(
            tenant=tenant, name=f"{tenant.slug}-portal.eu1.hubspot-sandbox.example"
        )
        inbox = InboxFactory(connection=connection, name="Customer support (priority, English and German)")
        for n, status in enumerate(
            (
                EscalationStatus.REQUESTED,
                EscalationStatus.ASSIGNED,
                EscalationStatus.CLOSED,
                EscalationStatus.FAILED,
            )
        ):
            esc = escalation(
                inbox,
                status=status,
                title="The parcel with order #104223 never arrived and the tracking page shows nothing",
                user_name="Maximiliane Alexandra Vandenberghe-Oppenheimer",
                user_email=f"maximiliane.vandenberghe-oppenheimer+{tenant.slug}{n}@very-long-company-domain.example",
                conversation_id=f"whatsapp:+4915112345678:session-2026-12-03T19:22:35.123456Z-{n}",
                created_at=now - dt.timedelta(minutes=40 * n),
                assigned_at=now - dt.timedelta(minutes=30 * n)
                if status != EscalationStatus.REQUESTED
                else None,
                closed_at=now if status == EscalationStatus.CLOSED else None,
                failed_at=now if status == EscalationStatus.FAILED else None,
            )
            event = EscalationEventFactory(escalation=esc, delivery_status=DeliveryStatus.FAILED)
            CallbackAttemptFactory(
                event=event,
                url="https://bot.internal.very-long-company-domain.example/hitl/callbacks/v2/events?tenant=acme&x=1",
                error="HTTPSConnectionPool(host='bot.internal.very-long-company-domain.example'): timed out",
                response_excerpt='{"error": "upstream bot platform unavailable, retry later", "code": 50321}',
            )
        receipt = WebhookReceiptFactory(
            app=connection.app,
            status=WebhookReceipt.Status.FAILED,
            exception="ValueError: unexpected shape of propertyChange payload: missing 'propertyValue' key",
        )
        HubSpotEventFactory(
            app=connection.app,
            receipt=receipt,
            event_type="conversation.propertyChange",
            status=HubSpotEvent.Status.FAILED,
            connection=connection,
            result="Thread 7712345123 belongs to an inbox this connection does not serve any more",
        )
        Invitation.objects.create(
            tenant=tenant,
            email=f"new.colleague.with.a.long.address@{tenant.slug}-subsidiary.example",
            role=Role.SUPPORT_LEAD,
            expires_at=now + dt.timedelta(days=7),
            invited_by=superuser,
            token_hash=f"{tenant.pk:064d}",
        )
        AuditLogEntry.objects.create(
            tenant=tenant,
            actor=superuser,
            actor_label="root",
            action="app.webhooks",
            target_repr=str(connection),
            message="target URL set to https://hitl.example.com/webhooks/hubspot/88a8be94-b8d9-494f/app/; "
            "created conversation.creation; created conversation.newMessage",
        )


def measure(page, base: str, prefix: str) -> dict:
    report = {}
    for name, path in LISTS.items():
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        found = page.evaluate(MEASURE)
        assert found["rows"] >= 1, (name, found)
        report[name] = found
        screenshots(page, f"{prefix}-{name}")
    return report


def test_an_organisation_admin_reads_every_main_list_whole_at_1280_px(live_server, page, busy_lists, admin_a):
    """One organisation (no organisation column): every column is in view, no sideways scroll."""
    log_in(page, live_server.url, admin_a)
    page.set_viewport_size({"width": 1280, "height": 860})
    report = measure(page, live_server.url, "list")
    problems = {
        name: found
        for name, found in report.items()
        if found["pageOverflow"] > 0 or found["problems"] or found["tableRight"] > found["cardRight"] + 1
    }
    assert not problems, problems


def test_with_the_organisation_column_tables_scroll_inside_their_card(
    live_server, page, busy_lists, superuser
):
    """A superuser's lists add the organisation column: wider tables may scroll inside their card,
    but the page never does, and nothing is clipped or cut without its value on hover."""
    log_in(page, live_server.url, superuser)
    page.set_viewport_size({"width": 1280, "height": 860})
    report = measure(page, live_server.url, "list-superuser")
    problems = {
        name: found
        for name, found in report.items()
        if found["pageOverflow"] > 0
        or [p for p in found["problems"] if not p.startswith("scrolled out of view")]
    }
    assert not problems, problems
