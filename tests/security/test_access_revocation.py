"""Access ends with the relationship: a member removed from their last organisation loses the
admin, and a disconnected connection's bot API keys stop working."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from connections.models import BotApiKey, Connection, ConnectionStatus
from tenants.membership import remove_member
from tenants.models import Membership, Role
from tests.factories import HubSpotAppFactory, MembershipFactory, UserFactory


def test_removed_from_the_last_organisation_loses_the_admin(client, tenant_a, tenant_b):
    user = UserFactory(username="dana", is_staff=False)
    MembershipFactory(tenant=tenant_a, user=user, role=Role.SUPPORT_LEAD)
    MembershipFactory(tenant=tenant_b, user=user, role=Role.ADMIN)
    client.force_login(user)
    assert client.get("/admin/").status_code == 200

    assert remove_member(tenant_a, user)
    user.refresh_from_db()
    assert user.is_staff and client.get("/admin/").status_code == 200

    assert remove_member(tenant_b, user)
    user.refresh_from_db()
    assert not user.is_staff
    assert client.get("/admin/").status_code == 302  # the open session is sent to the login


def test_a_membership_deleted_in_the_admin_revokes_staff_too(client, superuser, tenant_a):
    user = UserFactory(username="eve", is_staff=False)
    membership = MembershipFactory(tenant=tenant_a, user=user, role=Role.SUPPORT_LEAD)
    client.force_login(superuser)
    client.post(f"/admin/tenants/membership/{membership.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    user.refresh_from_db()
    assert not user.is_staff


def test_superusers_keep_staff(tenant_a):
    root = UserFactory(username="rooty", is_superuser=True, is_staff=True)
    MembershipFactory(tenant=tenant_a, user=root)
    remove_member(tenant_a, root)
    root.refresh_from_db()
    assert root.is_staff


@pytest.fixture
def keyed_connection(tenant_a):
    app = HubSpotAppFactory(tenant=tenant_a)
    connection = Connection.objects.create(
        tenant=tenant_a, app=app, portal_id=4242, status=ConnectionStatus.ACTIVE, name="c"
    )
    _, plaintext = BotApiKey.issue(connection)
    return connection, plaintext


def test_bot_key_of_a_disconnected_connection_gets_401_saying_so(keyed_connection):
    connection, key = keyed_connection
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/escalations/").status_code == 200

    connection.status = ConnectionStatus.DISCONNECTED
    connection.save()
    response = api.get("/api/v1/escalations/")

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "disconnected" in response.json()["message"]
