"""Trust bug: every admin action is POST/redirect/GET. The health check lands on a GET page that
survives reload and Back (the check is not run again), a new secret's page is not a POST answer
a reload would re-send (issuing a second key), and an action's URL opened directly is never a bare
405: it leads back to the page the action belongs to."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from connections.models import BotApiKey, Connection
from core.models import AuditLogEntry
from tenants.models import Role
from tests.factories import MembershipFactory, UserFactory, escalation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provisioned(hubspot):
    out = io.StringIO()
    call_command("provision_connection", "--sandbox", "--json", stdout=out)
    data = json.loads(out.getvalue())
    connection = Connection.objects.get(pk=data["connection_id"])
    MembershipFactory(tenant=connection.tenant, user=UserFactory(username="alice"), role=Role.ADMIN)
    return connection


def log_in(page, base, next_url):
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()


def resubmissions(page) -> list[str]:
    """Methods of the documents the page loads from now on (a re-POST would show up here)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.method) if r.is_navigation_request() else None)
    return seen


def test_check_health_lands_on_a_get_page_that_survives_reload_and_back(live_server, page, provisioned):
    change = f"/admin/connections/connection/{provisioned.pk}/change/"
    log_in(page, live_server.url, change)
    page.get_by_role("button", name="Check health").click()
    expect(page.locator('#health-checks tr[data-check="token"]')).to_contain_text("OK")
    assert re.search(rf"/connection/{provisioned.pk}/health/$", page.url), page.url
    checks = AuditLogEntry.objects.filter(action="connection.health_check").count()
    assert checks == 1

    methods = resubmissions(page)
    page.reload()
    expect(page.locator('#health-checks tr[data-check="token"]')).to_contain_text("OK")
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(change)))
    page.go_forward()
    expect(page.locator("#health-checks")).to_be_visible()
    assert "POST" not in methods, methods
    assert AuditLogEntry.objects.filter(action="connection.health_check").count() == checks


def test_a_new_key_is_shown_once_and_a_reload_never_issues_another(live_server, page, provisioned):
    before = BotApiKey.objects.filter(connection=provisioned).count()
    log_in(page, live_server.url, f"/admin/connections/connection/{provisioned.pk}/change/")
    page.get_by_role("button", name="Issue a bot API key").click()
    expect(page.locator(".hitl-secret")).to_contain_text("hitl_")
    plaintext = page.locator(".hitl-secret code").inner_text()
    assert BotApiKey.objects.filter(connection=provisioned).count() == before + 1

    methods = resubmissions(page)
    page.reload()
    expect(page.get_by_text("This secret was shown once")).to_be_visible()
    assert plaintext not in page.content()
    assert "POST" not in methods
    assert BotApiKey.objects.filter(connection=provisioned).count() == before + 1


def test_opening_an_action_url_leads_back_to_its_page(live_server, page, provisioned):
    log_in(page, live_server.url, "/admin/")
    response = page.goto(
        f"{live_server.url}/admin/connections/connection/{provisioned.pk}/actions/check-health/"
    )
    assert response.status == 200
    expect(page).to_have_url(re.compile(rf"/connection/{provisioned.pk}/change/"))
    expect(page.locator(".messagelist")).to_contain_text("Nothing was done")

    esc = escalation(provisioned.inboxes.first(), title="Parcel")
    response = page.goto(f"{live_server.url}/admin/conversations/escalation/{esc.pk}/actions/close/")
    assert response.status == 200
    expect(page.get_by_role("heading", name="Parcel")).to_be_visible()
    expect(page.locator(".messagelist")).to_contain_text("Nothing was done")
    esc.refresh_from_db()
    assert esc.status != "closed"


def test_closing_an_escalation_then_reloading_closes_nothing_twice(live_server, page, provisioned):
    esc = escalation(provisioned.inboxes.first(), title="Parcel", status="open")
    log_in(page, live_server.url, f"/admin/conversations/escalation/{esc.pk}/change/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Close escalation").click()
    expect(page.locator(".messagelist")).to_contain_text("Closed the escalation")
    methods = resubmissions(page)
    page.reload()
    expect(page.get_by_role("heading", name="Parcel")).to_be_visible()
    assert "POST" not in methods
    assert AuditLogEntry.objects.filter(action="escalation.close").count() == 1
