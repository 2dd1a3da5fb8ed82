"""A Content-Security-Policy on every page: scripts only from our origin or with the response's
nonce, no inline script or event-handler attribute without one, and none blocked in a browser."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import ConnectionFactory, InboxFactory, escalation

SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def pages(admin_a, tenant_a):
    esc = escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme")))
    return [
        "/admin/",
        "/admin/conversations/escalation/",
        reverse("admin:conversations_escalation_change", args=[esc.pk]),
        "/admin/conversations/dashboard/",
        "/admin/connections/connection/",
        "/admin/password_change/",
        "/api/docs/",
        "/sandbox/app/console/",
        "/sandbox/app/chat/",
    ]


def check(response, url):
    assert response.status_code == 200, url
    directives = policy(response)
    scripts = directives["script-src"]
    assert "'unsafe-inline'" not in scripts, url
    assert "'self'" in scripts, url
    html = response.content.decode()
    nonces = [value.strip("'")[len("nonce-") :] for value in scripts if value.startswith("'nonce-")]
    for attributes in SCRIPT.findall(html):
        if "src=" in attributes:
            continue
        found = re.search(r'nonce="([^"]+)"', attributes)
        assert found and found.group(1) in nonces, f"inline script without this response's nonce on {url}"
    assert not HANDLER.search(html), f"inline event handler on {url}"
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]


def test_every_page_sends_a_nonce_policy_and_has_no_unnonced_inline_script(client, admin_a, superuser, pages):
    client.force_login(superuser)
    for url in pages:
        check(client.get(url), url)
    client.force_login(admin_a)
    for url in pages[:5]:
        check(client.get(url), url)


def test_the_login_page_has_the_policy_too(client, db):
    check(client.get("/admin/login/"), "/admin/login/")


def test_our_script_tags_carry_the_nonce(client, superuser, pages):
    client.force_login(superuser)
    response = client.get("/sandbox/app/console/")
    nonce = next(v for v in policy(response)["script-src"] if v.startswith("'nonce-")).strip("'")[6:]
    assert f'nonce="{nonce}"' in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_script_is_blocked_in_a_browser(live_server, page, tenant_a):
    from tests.browser import log_in
    from tests.factories import UserFactory

    esc = escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme")))
    log_in(page, live_server.url, UserFactory(username="csp-root", is_superuser=True, is_staff=True))
    violations = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    for path in (
        "/admin/",
        "/admin/conversations/escalation/",
        reverse("admin:conversations_escalation_change", args=[esc.pk]),
        reverse("admin:connections_connection_change", args=[esc.connection.pk]),
        "/admin/conversations/dashboard/",
        "/api/docs/",
        "/sandbox/app/console/",
        "/sandbox/app/chat/",
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        if path == "/api/docs/":  # Swagger UI starts from its own script file, not an inline one
            page.locator(".swagger-ui .info").wait_for()
    assert violations == []

    # The admin theme's Alpine.js runs under the policy ('unsafe-eval', no inline script): the
    # sidebar's folded Developer tools group opens on a click.
    page.goto(live_server.url + "/admin/")
    tools = page.locator("#nav-sidebar-apps").get_by_role("link", name="Sandbox inboxes")
    expect(tools).to_be_hidden()
    page.locator("#nav-sidebar-apps").get_by_text("Developer tools").click()
    expect(tools).to_be_visible()
    assert violations == []
