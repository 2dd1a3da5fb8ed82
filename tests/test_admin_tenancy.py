"""Tenant isolation and roles in the admin, through the reusable TenantScopedAdmin."""

import pytest
from django.urls import reverse

from connections.models import HubSpotApp
from tests.factories import HubSpotAppFactory


@pytest.fixture
def apps_ab(tenant_a, tenant_b):
    return HubSpotAppFactory(tenant=tenant_a, name="Acme app"), HubSpotAppFactory(
        tenant=tenant_b, name="Globex app"
    )


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_changelist_shows_only_own_tenant(client, admin_a, apps_ab):
    client.force_login(admin_a)
    response = client.get(reverse("admin:connections_hubspotapp_changelist"))
    assert response.status_code == 200
    assert "Acme app" in response.text
    assert "Globex app" not in response.text


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_other_tenants_object_by_url_is_404(client, admin_a, apps_ab, view):
    _, foreign = apps_ab
    client.force_login(admin_a)
    url = reverse(f"admin:connections_hubspotapp_{view}", args=[foreign.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"post": "yes", "name": "hijacked"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Globex app"


def test_cannot_create_object_in_other_tenant(client, admin_a, tenant_b):
    client.force_login(admin_a)
    response = client.post(
        reverse("admin:connections_hubspotapp_add"),
        {"tenant": tenant_b.pk, "name": "Sneaky", "app_id": 5, "client_id": "c", "client_secret": "s"},
    )
    assert response.status_code == 200  # form redisplayed with an error
    assert "Select a valid choice" in response.text
    assert not HubSpotApp.objects.filter(name="Sneaky").exists()


def test_tenant_choices_limited_to_own(client, admin_a, tenant_b):
    client.force_login(admin_a)
    response = client.get(reverse("admin:connections_hubspotapp_add"))
    assert "Acme" in response.text
    assert "Globex" not in response.text


def test_superuser_sees_all(client, superuser, apps_ab):
    client.force_login(superuser)
    response = client.get(reverse("admin:connections_hubspotapp_changelist"))
    assert "Acme app" in response.text and "Globex app" in response.text


def test_platform_app_invisible_to_tenant_admin(client, admin_a):
    platform = HubSpotAppFactory(tenant=None, name="Shared operator app")
    client.force_login(admin_a)
    assert "Shared operator app" not in client.get(reverse("admin:connections_hubspotapp_changelist")).text
    assert client.get(change_url(platform)).status_code == 404


def test_support_lead_has_no_access_to_connection_secrets(client, lead_a, apps_ab):
    own, _ = apps_ab
    client.force_login(lead_a)
    assert client.get(reverse("admin:connections_hubspotapp_changelist")).status_code == 403
    assert client.get(change_url(own)).status_code in (403, 404)


def test_support_lead_reads_but_cannot_change(client, lead_a, tenant_a, tenant_b):
    client.force_login(lead_a)
    response = client.get(change_url(tenant_a))
    assert response.status_code == 200
    assert 'name="_save"' not in response.text  # read-only page: no save button
    assert client.post(change_url(tenant_a), {"name": "Renamed", "slug": "acme"}).status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Acme"
    assert client.get(change_url(tenant_b)).status_code == 404
    assert client.get(reverse("admin:tenants_tenant_add")).status_code == 403


def test_tenant_admin_edits_own_tenant(client, admin_a, tenant_a):
    client.force_login(admin_a)
    response = client.post(
        change_url(tenant_a),
        {
            "name": "Acme Corp",
            "slug": "acme",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Acme Corp"


def test_user_without_membership_sees_nothing(client, db, apps_ab):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="drifter"))
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert "HubSpot apps" not in index.text
    assert client.get(reverse("admin:connections_hubspotapp_changelist")).status_code == 403
