"""The same walk as tests/test_admin_roles_walk.py, in Chromium as each person uses the admin:
sign in on the login page, then follow every link the home page shows (its navigation included).
Each must load (HTTP 200, no error page), show none of another organisation's data, and offer no
link to a model only superusers use."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.test_admin_roles_walk import FOREIGN, SKIP, SUPERUSER_ONLY, world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def visible_links(page, base: str) -> list[str]:
    hrefs = page.locator("a[href]:visible").evaluate_all("links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base or parts.path.startswith(SKIP):
            continue
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        if url not in found:
            found.append(url)
    return found


def walk_home(page, base: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    home_links = visible_links(page, base)
    assert len(home_links) > 5, home_links
    for url in home_links:
        if url.startswith(SUPERUSER_ONLY):
            problems[url] = "a superuser-only page, linked from the home page"
            continue
        response = page.goto(f"{base}{url}")
        if response is None or response.status != 200:
            problems[url] = f"HTTP {response.status if response else '?'}"
            continue
        if FOREIGN in page.content():
            problems[url] = "shows another organisation's data"
        offered = [link for link in visible_links(page, base) if link.startswith(SUPERUSER_ONLY)]
        if offered:
            problems[url] = f"offers superuser-only pages: {offered}"
    return problems


def test_a_support_lead_walks_the_admin_from_home(live_server, page, world, lead_a):  # noqa: F811
    sign_in(page, live_server.url, lead_a.username)
    expect(page.get_by_role("link", name="Escalations").first).to_be_visible()
    assert walk_home(page, live_server.url) == {}


def test_a_tenant_admin_walks_the_admin_from_home(live_server, page, world, admin_a):  # noqa: F811
    sign_in(page, live_server.url, admin_a.username)
    expect(page.get_by_role("link", name="Connections").first).to_be_visible()
    assert walk_home(page, live_server.url) == {}
