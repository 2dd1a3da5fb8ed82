"""Invitations end to end: a tenant admin invites a support lead by email; the link is read from
the outbox (Django's email backend), the person sets a password, lands in the admin with that role;
the link works once; resend replaces the link and revoke closes it; each step is audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from core.models import AuditLogEntry
from tenants.models import Invitation, Membership, Role
from tests.browser import sign_in


def field_label(name: str) -> re.Pattern:
    """An admin form field's label in the theme: the name, then "*" when the field is required."""
    return re.compile(rf"^\s*{re.escape(name)}\s*\*?\s*$")


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINK = re.compile(r"https?://\S+/invitations/[\w-]+/")


def test_invite_set_password_and_sign_in_with_the_role(live_server, settings, browser, admin_a, tenant_a):
    settings.PUBLIC_BASE_URL = live_server.url
    admin_page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    sign_in(admin_page, live_server.url, "alice")
    admin_page.goto(f"{live_server.url}/admin/tenants/invitation/add/")
    expect(admin_page.get_by_label(field_label("Organisation"))).to_have_value(
        str(tenant_a.pk)
    )  # the only one
    admin_page.get_by_label(field_label("Email")).fill("Lena.Lead@Example.com")
    admin_page.get_by_label(field_label("Role")).select_option(Role.SUPPORT_LEAD)
    admin_page.get_by_role("button", name="Save", exact=True).click()
    expect(admin_page.locator(".messagelist")).to_contain_text("Invitation emailed to lena.lead@example.com")
    expect(admin_page.locator("#result_list")).to_contain_text("Pending")

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lena.lead@example.com"]
    first_link = LINK.search(mail.outbox[0].body).group(0)
    invitation = Invitation.objects.get()
    assert first_link.rsplit("/", 2)[-2] not in invitation.token_hash  # stored hashed only

    # Resend: a new link; the first one stops working.
    admin_page.locator("#result_list input[name=_selected_action]").check()
    admin_page.get_by_label("Action", exact=True).select_option("resend_invitations")
    admin_page.get_by_role("button", name="Run").click()
    expect(admin_page.locator(".messagelist")).to_contain_text("Resent the invitation")
    assert len(mail.outbox) == 2
    link = LINK.search(mail.outbox[1].body).group(0)
    assert link != first_link

    newcomer = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    assert newcomer.goto(first_link).status == 410
    expect(newcomer.get_by_role("heading")).to_contain_text("does not work any more")

    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name=f"Join {tenant_a.name}")).to_be_visible()
    newcomer.get_by_label(field_label("New password:")).fill("short")
    newcomer.get_by_label("New password again:").fill("short")
    newcomer.get_by_role("button", name="Set password and join").click()
    expect(newcomer.locator(".errorlist")).to_be_visible()  # Django's validators
    newcomer.get_by_label(field_label("New password:")).fill("a-Long-enough-passphrase-42")
    newcomer.get_by_label("New password again:").fill("a-Long-enough-passphrase-42")
    newcomer.get_by_role("button", name="Set password and join").click()
    expect(newcomer.locator(".messagelist")).to_contain_text(f"Welcome to {tenant_a.name}")
    expect(newcomer.locator('[data-card="waiting"]')).to_be_visible()
    # A support lead: escalations, no connections.
    expect(newcomer.locator("#home-connections-title")).to_have_count(0)

    membership = Membership.objects.get(user__email="lena.lead@example.com")
    assert membership.tenant == tenant_a and membership.role == Role.SUPPORT_LEAD
    assert membership.user.is_staff
    # Once only, and Back/reload of the used link says so.
    assert newcomer.goto(link).status == 410

    # The password works for a fresh sign-in.
    fresh = browser.new_context().new_page()
    sign_in(fresh, live_server.url, "lena.lead@example.com", "a-Long-enough-passphrase-42")
    expect(fresh.locator('[data-card="waiting"]')).to_be_visible()

    actions = list(
        AuditLogEntry.objects.filter(action__startswith="invitation.").values_list("action", flat=True)
    )
    assert sorted(actions) == ["invitation.accept", "invitation.create", "invitation.resend"]


def test_revoked_invitations_stop_working(live_server, settings, page, admin_a, tenant_a):
    from tenants import invitations

    settings.PUBLIC_BASE_URL = live_server.url
    invitations.invite(tenant_a, "late@example.com", Role.ADMIN, by=admin_a)
    link = LINK.search(mail.outbox[0].body).group(0)
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/admin/tenants/invitation/")
    page.locator("#result_list input[name=_selected_action]").check()
    page.get_by_label("Action", exact=True).select_option("revoke_invitations")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#result_list")).to_contain_text("Revoked")
    assert page.goto(link).status == 410
    expect(page.locator("#content-main")).to_contain_text("revoked")
    assert AuditLogEntry.objects.filter(action="invitation.revoke", actor=admin_a).exists()
