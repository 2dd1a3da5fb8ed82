"""The HubSpot app page (what to copy from HubSpot, what to paste back, the way on to Connect), the
Connect page's preselection, and the read-only, tenant-scoped audit log."""

import pytest
from django.urls import reverse

from connections import consent
from connections.models import HubSpotApp
from connections.webhook_urls import app_webhook_url, channel_webhook_url
from core.models import AuditLogEntry
from tests.factories import HubSpotAppFactory

# -- HubSpot apps ----------------------------------------------------------------------------------


def test_app_page_says_where_values_come_from_and_what_to_paste(client, admin_a, tenant_a):
    app = HubSpotAppFactory(tenant=tenant_a)
    client.force_login(admin_a)

    page = client.get(reverse("admin:connections_hubspotapp_change", args=[app.pk])).text

    assert "Auth tab, “App ID”" in page and "Get HubSpot API key" in page
    for url in (consent.redirect_uri(), app_webhook_url(app), channel_webhook_url(app)):
        assert f'data-copy="{url}"' in page, url
    assert reverse("admin:connections_connection_connect") + f"?app={app.pk}" in page
    assert "connections/console.js" in page
    assert str(app.client_secret) not in page and str(app.developer_api_key) not in page


def test_new_app_lands_on_its_page_to_copy_the_urls(client, admin_a, tenant_a):
    client.force_login(admin_a)
    add = client.get(reverse("admin:connections_hubspotapp_add")).text
    assert consent.redirect_uri() in add and "Shown after saving." in add

    response = client.post(
        reverse("admin:connections_hubspotapp_add"),
        {
            "tenant": tenant_a.pk,
            "name": "Ours",
            "app_id": 9,
            "client_id": "c",
            "client_secret": "s3cr3t-value",
        },
        follow=True,
    )
    app = HubSpotApp.objects.get(name="Ours")
    assert response.redirect_chain[-1][0] == reverse("admin:connections_hubspotapp_change", args=[app.pk])
    assert "Paste the URLs below" in response.text
    assert app_webhook_url(app) in response.text
    assert "s3cr3t-value" not in response.text


def test_tenant_admin_must_pick_an_organisation_for_a_new_app(client, admin_a):
    client.force_login(admin_a)
    response = client.post(
        reverse("admin:connections_hubspotapp_add"),
        {"tenant": "", "name": "Shared?", "app_id": 9, "client_id": "c", "client_secret": "s"},
    )
    assert response.status_code == 200 and "This field is required" in response.text
    assert not HubSpotApp.objects.exists()


def test_superuser_sees_where_the_sandbox_credentials_are(client, superuser, settings):
    settings.HUBSPOT_SANDBOX = True
    client.force_login(superuser)
    page = client.get(reverse("admin:connections_hubspotapp_add")).text
    assert "built-in HubSpot sandbox is on" in page
    assert reverse("admin:sandbox_sandboxapp_changelist") in page


def test_connect_page_preselects_the_app_and_its_organisation(client, superuser, tenant_a, tenant_b):
    app = HubSpotAppFactory(tenant=tenant_b)
    client.force_login(superuser)
    form = client.get(reverse("admin:connections_connection_connect") + f"?app={app.pk}").context["form"]
    assert form.initial == {"app": str(app.pk), "tenant": tenant_b.pk}


def test_connect_page_ignores_an_app_the_user_cannot_use(client, admin_a, tenant_b):
    foreign = HubSpotAppFactory(tenant=tenant_b)
    client.force_login(admin_a)
    for value in (str(foreign.pk), "not-a-number"):
        form = client.get(reverse("admin:connections_connection_connect"), {"app": value}).context["form"]
        assert "app" not in form.initial


def test_connect_page_explains_what_is_missing(client, superuser):
    client.force_login(superuser)
    page = client.get(reverse("admin:connections_connection_connect")).text
    assert "no organisation to connect for yet" in page
    assert "Add your HubSpot app" in page


# -- audit log -------------------------------------------------------------------------------------


@pytest.fixture
def entries(tenant_a, tenant_b, admin_a):
    own = AuditLogEntry.objects.create(
        tenant=tenant_a,
        actor=admin_a,
        actor_label="alice",
        action="bot_key.issue",
        message="Acme key issued.",
    )
    failed = AuditLogEntry.objects.create(
        tenant=tenant_a, action="app.webhooks", outcome="failure", message="Acme webhooks refused."
    )
    foreign = AuditLogEntry.objects.create(
        tenant=tenant_b, action="bot_key.issue", message="Globex key issued."
    )
    platform = AuditLogEntry.objects.create(tenant=None, action="system.boot", message="Platform thing.")
    return own, failed, foreign, platform


def audit_url(view="changelist", *args):
    return reverse(f"admin:core_auditlogentry_{view}", args=args)


def test_tenant_admin_reads_only_own_tenants_audit_log(client, admin_a, entries):
    own, _, foreign, platform = entries
    client.force_login(admin_a)
    page = client.get(audit_url()).text
    assert "Acme key issued." in page and "Acme webhooks refused." in page
    assert "Globex key issued." not in page and "Platform thing." not in page
    assert client.get(audit_url("change", own.pk)).status_code == 200
    assert client.get(audit_url("change", foreign.pk)).status_code == 404
    assert client.get(audit_url("change", platform.pk)).status_code == 404


def test_audit_log_filters_and_search(client, admin_a, entries):
    client.force_login(admin_a)
    failures = client.get(audit_url(), {"outcome": "failure"}).text
    assert "Acme webhooks refused." in failures and "Acme key issued." not in failures
    by_action = client.get(audit_url(), {"action": "bot_key.issue"}).text
    assert "Acme key issued." in by_action and "Acme webhooks refused." not in by_action
    found = client.get(audit_url(), {"q": "refused"}).text
    assert "Acme webhooks refused." in found and "Acme key issued." not in found


def test_audit_log_is_read_only_even_for_superusers(client, superuser, entries):
    own, *_ = entries
    client.force_login(superuser)
    assert client.get(audit_url("add")).status_code == 403
    page = client.get(audit_url("change", own.pk)).text
    assert 'name="_save"' not in page
    assert client.post(audit_url("change", own.pk), {"message": "rewritten"}).status_code == 403
    assert client.post(audit_url("delete", own.pk), {"post": "yes"}).status_code == 403
    own.refresh_from_db()
    assert own.message == "Acme key issued."


def test_support_leads_have_no_audit_log(client, lead_a, entries):
    own, *_ = entries
    client.force_login(lead_a)
    assert client.get(audit_url()).status_code == 403
    assert client.get(audit_url("change", own.pk)).status_code == 404


def test_audit_changelist_query_count_does_not_grow_with_entries(
    client, admin_a, tenant_a, entries, django_assert_max_num_queries
):
    for n in range(20):
        AuditLogEntry.objects.create(tenant=tenant_a, actor=admin_a, action="x", message=f"m{n}")
    client.force_login(admin_a)
    with django_assert_max_num_queries(12):
        assert client.get(audit_url()).status_code == 200
