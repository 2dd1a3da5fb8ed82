"""A project app's HubSpot project files: written by `export_hubspot_project`, downloaded as a zip
from the app's admin page, and valid against schemas written from HubSpot's app configuration
reference (tests/fixtures/hubspot_project/*.schema.json)."""

import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from connections import consent, webhook_setup
from connections.hubspot import scopes
from connections.models import AppKind
from connections.project_export import APP_FILE, WEBHOOKS_FILE, project_files
from connections.webhook_urls import app_webhook_url
from tests.factories import HubSpotAppFactory

SCHEMAS = Path(__file__).resolve().parent.parent / "fixtures" / "hubspot_project"


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def validate(relative: str, data: dict) -> None:
    name = {"hsproject.json": "hsproject", APP_FILE: "app-hsmeta", WEBHOOKS_FILE: "webhooks-hsmeta"}[relative]
    jsonschema.validate(data, schema(name), cls=jsonschema.Draft202012Validator)


@pytest.fixture(autouse=True)
def public_https(settings):
    # HubSpot accepts only https redirect and target URLs (localhost aside).
    settings.PUBLIC_BASE_URL = "https://hitl.example.com"


@pytest.fixture
def project_app(tenant_a):
    return HubSpotAppFactory(
        tenant=tenant_a,
        name="Acme Handoff",
        app_id=4242,
        kind=AppKind.PROJECT,
        required_scopes=[*scopes.PORTAL_SCOPES, "tickets"],
        optional_scopes=["crm.objects.companies.read"],
    )


def test_command_writes_files_that_validate_and_say_what_the_portal_needs(project_app, tmp_path):
    out = io.StringIO()
    call_command("export_hubspot_project", "--app", "4242", "--out", str(tmp_path), stdout=out)

    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert files == {"hsproject.json", APP_FILE, WEBHOOKS_FILE, "README.md"}
    for relative in ("hsproject.json", APP_FILE, WEBHOOKS_FILE):
        validate(relative, json.loads((tmp_path / relative).read_text()))

    app = json.loads((tmp_path / APP_FILE).read_text())["config"]
    assert app["auth"]["redirectUrls"] == [consent.redirect_uri()]
    assert app["auth"]["requiredScopes"] == [*scopes.PORTAL_SCOPES, "tickets"]
    assert app["auth"]["optionalScopes"] == ["crm.objects.companies.read"]
    hooks = json.loads((tmp_path / WEBHOOKS_FILE).read_text())["config"]
    assert hooks["settings"]["targetUrl"] == app_webhook_url(project_app)
    subscribed = {
        (s["subscriptionType"], s.get("propertyName", "")) for s in hooks["subscriptions"]["hubEvents"]
    }
    assert subscribed == {(s.event_type, s.property_name) for s in webhook_setup.REQUIRED_SUBSCRIPTIONS}
    assert all(s["active"] for s in hooks["subscriptions"]["hubEvents"])
    readme = (tmp_path / "README.md").read_text()
    assert "hs project upload" in readme and "/channel/" in readme
    assert str(project_app.client_secret) not in "".join(p.read_text() for p in tmp_path.rglob("*.*"))


@pytest.mark.parametrize(
    ("relative", "break_it"),
    [
        (APP_FILE, lambda d: d["config"]["auth"].pop("redirectUrls")),
        (APP_FILE, lambda d: d["config"]["auth"]["requiredScopes"].remove("oauth")),
        (APP_FILE, lambda d: d["config"]["auth"].update(scopes=["oauth"])),
        (APP_FILE, lambda d: d["config"].update(distribution="public")),
        (WEBHOOKS_FILE, lambda d: d["config"]["subscriptions"]["hubEvents"][2].pop("propertyName")),
        (WEBHOOKS_FILE, lambda d: d["config"]["settings"].pop("targetUrl")),
        (WEBHOOKS_FILE, lambda d: d.update(type="webhook")),
        ("hsproject.json", lambda d: d.update(platformVersion="2023.2")),
    ],
)
def test_the_schemas_refuse_what_hubspot_refuses(project_app, relative, break_it):
    data = json.loads(project_files(project_app)[relative])
    validate(relative, data)
    break_it(data)
    with pytest.raises(jsonschema.ValidationError):
        validate(relative, data)


def test_command_warns_when_hubspot_would_refuse_a_plain_http_url(project_app, tmp_path, settings):
    settings.PUBLIC_BASE_URL = "http://hitl.example.com"
    err = io.StringIO()
    call_command(
        "export_hubspot_project", "--app", "4242", "--out", str(tmp_path), stdout=io.StringIO(), stderr=err
    )
    assert "https" in err.getvalue()


def test_a_legacy_app_is_not_exported_without_force(tenant_a, tmp_path):
    HubSpotAppFactory(tenant=tenant_a, app_id=77, kind=AppKind.LEGACY_PUBLIC)
    with pytest.raises(CommandError, match="legacy public app"):
        call_command("export_hubspot_project", "--app", "77", "--out", str(tmp_path))
    call_command(
        "export_hubspot_project", "--app", "77", "--out", str(tmp_path), "--force", stdout=io.StringIO()
    )
    assert (tmp_path / APP_FILE).exists()
    with pytest.raises(CommandError, match="No HubSpot app"):
        call_command("export_hubspot_project", "--app", "999999", "--out", str(tmp_path))


def test_admin_download_is_the_same_files_and_tenant_scoped(client, admin_a, admin_b, project_app):
    url = reverse("admin:connections_hubspotapp_project_zip", args=[project_app.pk])
    client.force_login(admin_a)
    page = client.get(reverse("admin:connections_hubspotapp_change", args=[project_app.pk])).text
    assert url in page

    response = client.get(url)

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    contents = {name.split("/", 1)[1]: archive.read(name).decode() for name in archive.namelist()}
    assert contents == project_files(project_app)

    client.force_login(admin_b)
    assert client.get(url).status_code == 404


def test_admin_has_no_download_for_a_legacy_app(client, admin_a, tenant_a):
    app = HubSpotAppFactory(tenant=tenant_a, kind=AppKind.LEGACY_PUBLIC)
    client.force_login(admin_a)
    assert client.get(reverse("admin:connections_hubspotapp_project_zip", args=[app.pk])).status_code == 404


def test_admin_edits_kind_and_scopes_as_text(client, admin_a, tenant_a):
    app = HubSpotAppFactory(tenant=tenant_a, app_id=5)
    client.force_login(admin_a)
    url = reverse("admin:connections_hubspotapp_change", args=[app.pk])
    base = {
        "tenant": tenant_a.pk,
        "name": app.name,
        "app_id": 5,
        "client_id": app.client_id,
        "kind": "project",
    }

    refused = client.post(url, base | {"required_scopes": "oauth files", "optional_scopes": ""})
    assert refused.status_code == 200 and "cannot work without" in refused.text

    scopes_text = " ".join([*scopes.PORTAL_SCOPES, "tickets", "tickets"])
    saved = client.post(
        url, base | {"required_scopes": scopes_text, "optional_scopes": "crm.lists.read, e-commerce"}
    )
    assert saved.status_code == 302, saved.text[:2000]
    app.refresh_from_db()
    assert app.kind == AppKind.PROJECT
    assert app.required_scopes == [*scopes.PORTAL_SCOPES, "tickets"]
    assert app.optional_scopes == ["crm.lists.read", "e-commerce"]
