"""Error pages a person can act on, inside the admin's chrome: 403, 404, 405 and 500; the JSON
APIs keep their JSON errors."""

import pytest
from django.test import Client

from tests.factories import ConnectionFactory, InboxFactory, escalation

pytestmark = pytest.mark.django_db
HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}


def test_404_inside_the_admin_chrome(client, lead_a):
    client.force_login(lead_a)
    response = client.get(
        "/admin/conversations/escalation/00000000-0000-0000-0000-000000000000/change/", **HTML
    )
    assert response.status_code == 404
    assert "Page not found" in response.text and 'id="site-name"' in response.text
    assert (
        "Go to the home page" in response.text and "an organisation you are not a member of" in response.text
    )


def test_403_says_what_the_person_can_do(client, lead_a, tenant_a):
    inbox = InboxFactory(connection=ConnectionFactory(tenant=tenant_a))
    esc = escalation(inbox)
    client.force_login(lead_a)
    response = client.post(f"/admin/conversations/escalation/{esc.pk}/actions/close/", **HTML)
    assert response.status_code == 403
    assert (
        "You cannot open this page" in response.text and "ask an admin of your organisation" in response.text
    )


def test_a_bare_405_becomes_a_page_for_browsers_only(admin_client, settings):
    settings.HUBSPOT_SANDBOX = True
    client = admin_client  # the sandbox's pages are for signed-in staff only
    url = "/sandbox/app/chat/00000000-0000-0000-0000-000000000000/close/"
    page = client.get(url, **HTML)
    if page.status_code == 404:
        pytest.skip("sandbox URLs are not mounted in this profile")
    assert page.status_code == 405 and "This address is not a page" in page.text and page["Allow"] == "POST"
    bare = client.get(url, HTTP_ACCEPT="application/json")
    assert bare.status_code == 405 and bare.content == b""


def test_500_page_needs_no_request_context():
    from core.error_pages import server_error

    response = server_error(None)
    assert response.status_code == 500 and b"Something went wrong on our side" in response.content


def test_the_api_keeps_json_errors():
    response = Client().get("/api/v1/escalations/nope/", HTTP_ACCEPT="application/json")
    assert response.status_code in (401, 403, 404)
    assert response["Content-Type"].startswith("application/json")
