"""The dashboard in headless Chromium: a support lead opens it from the admin index, picks a
period, and the charts draw (inline SVG with real size) next to their tables.

A screenshot goes to /tmp/admin-dashboard.png (override the folder with ADMIN_SCREENSHOTS=<dir>).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's


def test_lead_opens_the_dashboard_and_sees_the_charts(live_server, page, lead_a, known):
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.get_by_role("heading", name="Dashboard · Acme")).to_be_visible()

    page.locator("#dash-from").fill("2026-11-01")
    page.locator("#dash-to").fill("2026-11-07")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("7 days, 1 Nov 2026")).to_be_visible()

    for name in ("Escalations per day", "Time to assign per inbox", "Failure reasons", "Close reasons"):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 50, (name, box)
    assert page.locator("svg.hitl-chart rect").count() > 10
    expect(page.locator("#inbox-table")).to_contain_text("3 min 30 s")
    page.get_by_text("Show as a table").click()
    expect(page.locator("#per-day-table tbody tr")).to_have_count(7)

    folder = Path(os.environ.get("ADMIN_SCREENSHOTS", "/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "admin-dashboard.png"), full_page=True)
