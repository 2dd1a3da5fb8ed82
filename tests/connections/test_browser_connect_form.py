"""The connect form offers only the chosen organisation's apps (and platform apps)."""

import pytest
from playwright.sync_api import expect

from tenants.models import Role
from tests.factories import HubSpotAppFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_apps_follow_the_chosen_organisation(live_server, page, tenant_a, tenant_b):
    user = UserFactory(username="multi")
    MembershipFactory(tenant=tenant_a, user=user, role=Role.ADMIN)
    MembershipFactory(tenant=tenant_b, user=user, role=Role.ADMIN)
    HubSpotAppFactory(tenant=tenant_a, name="Acme app")
    HubSpotAppFactory(tenant=tenant_b, name="Globex app")
    HubSpotAppFactory(tenant=None, name="Platform app")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/connections/connection/connect/")
    page.get_by_label("Username").fill("multi")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    def offered():
        return page.locator("#id_app option:not([disabled])").all_inner_texts()

    page.get_by_label("Organisation:").select_option(str(tenant_a.pk))
    assert "Acme app" in " ".join(offered()) and "Platform app" in " ".join(offered())
    assert "Globex app" not in " ".join(offered())
    page.get_by_label("Organisation:").select_option(str(tenant_b.pk))
    assert "Globex app" in " ".join(offered()) and "Acme app" not in " ".join(offered())
    expect(page.locator("#id_app option", has_text="Acme app")).to_be_hidden()
