"""The sandbox is a demo, never an open door: its pages need a signed-in staff user, and its
consent page takes only registered redirect URIs and only portals the user may connect."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from connections.models import Connection, ConnectionStatus
from sandbox.models import SandboxApp, SandboxAuthCode, SandboxPortal
from tenants.models import Role
from tests.factories import HubSpotAppFactory, MembershipFactory, UserFactory

REDIRECT = "https://portal.example.com/hubspot/oauth/callback/"

PAGES = [
    ("get", "/sandbox/app/console/"),
    ("get", "/sandbox/app/console/behaviour/"),
    ("get", "/sandbox/app/console/deliveries/"),
    ("post", "/sandbox/app/console/deliveries/send-due/"),
    ("get", "/sandbox/app/console/62515/"),
    ("get", "/sandbox/app/chat/"),
    ("post", "/sandbox/app/chat/setup/"),
    ("post", "/sandbox/app/chat/start/"),
    ("get", "/sandbox/app/chat/00000000-0000-0000-0000-000000000001/state/"),
]


@pytest.fixture
def app(db):
    return SandboxApp.objects.create(
        app_id=77,
        name="HITL Portal",
        client_id="cid-77",
        client_secret="s",
        developer_api_key="d",
        redirect_urls=[REDIRECT],
    )


@pytest.fixture
def portals(db):
    return [
        SandboxPortal.objects.create(portal_id=62515, name="Acme", hub_domain="acme.example.com"),
        SandboxPortal.objects.create(portal_id=62516, name="Globex", hub_domain="globex.example.com"),
    ]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_sandbox_pages_need_a_signed_in_user(client, portals, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_sandbox_pages_need_staff(client, portals, method, path):
    client.force_login(UserFactory(username="visitor", is_staff=False))
    response = getattr(client, method)(path)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_reach_the_console(client, portals, admin_a):
    client.force_login(admin_a)
    assert client.get("/sandbox/app/console/").status_code == 200
    assert client.get("/sandbox/app/chat/").status_code == 200


def authorize(redirect_uri=REDIRECT) -> str:
    query = {"client_id": "cid-77", "redirect_uri": redirect_uri, "scope": "oauth", "state": "s"}
    return "/sandbox/app/oauth/authorize?" + urlencode(query)


def test_consent_needs_a_signed_in_staff_user(client, app, portals):
    response = client.post(authorize(), {"portal": "62515", "user_email": "a@b.co", "decision": "approve"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not SandboxAuthCode.objects.exists()


def test_consent_refuses_any_redirect_uri_when_the_app_registered_none(client, app, portals, admin_a):
    client.force_login(admin_a)
    app.redirect_urls = []
    app.save()
    response = client.post(
        authorize("https://attacker.example.net/steal"),
        {"portal": "62515", "user_email": "a@b.co", "decision": "approve"},
    )
    assert response.status_code == 400 and "Location" not in response
    assert not SandboxAuthCode.objects.exists()


def test_consent_offers_only_portals_the_user_may_connect(client, app, portals, admin_a, tenant_b):
    # given: Globex (62516) is already connected by another organisation
    other_app = HubSpotAppFactory(tenant=tenant_b)
    Connection.objects.create(
        tenant=tenant_b, app=other_app, portal_id=62516, status=ConnectionStatus.ACTIVE, name="Globex"
    )
    client.force_login(admin_a)

    page = client.get(authorize()).content.decode()
    taken = client.post(authorize(), {"portal": "62516", "user_email": "a@b.co", "decision": "approve"})
    own = client.post(authorize(), {"portal": "62515", "user_email": "a@b.co", "decision": "approve"})

    assert "Acme (62515)" in page and "Globex (62516)" not in page
    assert taken.status_code == 200 and "Location" not in taken
    assert own.status_code == 302 and own["Location"].startswith(REDIRECT + "?code=")
    assert list(SandboxAuthCode.objects.values_list("portal__portal_id", flat=True)) == [62515]


def test_a_member_of_the_connecting_organisation_may_reconnect_its_portal(client, app, portals, tenant_a):
    admin = MembershipFactory(
        tenant=tenant_a, user=UserFactory(username="ann", is_staff=True), role=Role.ADMIN
    ).user
    Connection.objects.create(
        tenant=tenant_a, app=HubSpotAppFactory(tenant=tenant_a), portal_id=62516, status="active", name="G"
    )
    client.force_login(admin)
    assert "Globex (62516)" in client.get(authorize()).content.decode()
