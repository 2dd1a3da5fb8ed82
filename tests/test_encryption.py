"""Secrets at rest: encrypted columns, write-only admin fields, key rotation."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from connections.models import HubSpotApp
from core import crypto
from core.secrets import SecretStr
from tests.factories import HubSpotAppFactory


def raw_column(obj, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {obj._meta.db_table} WHERE id = %s", [obj.pk])
        return cursor.fetchone()[0]


def test_secret_is_encrypted_in_the_database(db):
    app = HubSpotAppFactory(client_secret="plain-client-secret", developer_api_key="plain-dev-key")
    raw = raw_column(app, "client_secret")
    assert "plain-client-secret" not in raw
    assert crypto.decrypt(raw) == "plain-client-secret"
    assert "plain-dev-key" not in raw_column(app, "developer_api_key")
    reloaded = HubSpotApp.objects.get(pk=app.pk)
    assert reloaded.client_secret == "plain-client-secret"
    assert isinstance(reloaded.client_secret, SecretStr)


def test_secret_repr_and_str_of_model_do_not_leak(db):
    app = HubSpotApp.objects.get(pk=HubSpotAppFactory(client_secret="s3cr3t-value").pk)
    assert "s3cr3t-value" not in repr(app.client_secret)
    assert "s3cr3t-value" not in str(app)
    assert "s3cr3t-value" not in repr(app.__dict__)
    assert f"{app.client_secret}" == "s3cr3t-value"


def test_key_rotation_reencrypts_everything(db, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    app = HubSpotAppFactory(client_secret="rotate-me", developer_api_key="")
    before = raw_column(app, "client_secret")
    Fernet(new_key.encode())  # sanity: a valid key

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--no-process-check", stdout=out)

    after = raw_column(app, "client_secret")
    assert after != before
    assert Fernet(new_key.encode()).decrypt(after.encode()) == b"rotate-me"
    assert raw_column(app, "developer_api_key") == ""  # blank stays blank, not encrypted
    assert "connections.HubSpotApp: 1 value(s)" in out.getvalue()
    # The old key can now be dropped.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert HubSpotApp.objects.get(pk=app.pk).client_secret == "rotate-me"


def test_invalid_key_error_does_not_echo_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key-but-secret"]
    with pytest.raises(ImproperlyConfigured) as excinfo:
        crypto.encrypt("x")
    assert "not-a-fernet-key-but-secret" not in str(excinfo.value)
    assert "#1" in str(excinfo.value)


def test_rotation_reports_undecryptable_rows(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    HubSpotAppFactory(client_secret="lost")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_encryption_keys", "--no-process-check", stdout=io.StringIO())


class TestAdminSecretsAreWriteOnly:
    def test_change_page_never_renders_secret(self, client, admin_a, tenant_a):
        app = HubSpotAppFactory(tenant=tenant_a, client_secret="never-render-me", developer_api_key="nor-me")
        client.force_login(admin_a)
        page = client.get(reverse("admin:connections_hubspotapp_change", args=[app.pk])).text
        assert "never-render-me" not in page
        assert "nor-me" not in page
        assert crypto.encrypt.__name__  # keyring works in this test
        assert raw_column(app, "client_secret") not in page  # nor the ciphertext

    def test_blank_submission_keeps_secret_and_new_value_replaces(self, client, admin_a, tenant_a):
        app = HubSpotAppFactory(tenant=tenant_a, client_secret="keep-me", developer_api_key="dev")
        client.force_login(admin_a)
        url = reverse("admin:connections_hubspotapp_change", args=[app.pk])
        form = {"tenant": tenant_a.pk, "name": "Renamed", "app_id": app.app_id, "client_id": "cid"}
        assert client.post(url, {**form, "client_secret": "", "developer_api_key": ""}).status_code == 302
        app.refresh_from_db()
        assert (app.name, app.client_secret, app.developer_api_key) == ("Renamed", "keep-me", "dev")
        assert client.post(url, {**form, "client_secret": "new-secret"}).status_code == 302
        app.refresh_from_db()
        assert app.client_secret == "new-secret"

    def test_secret_required_when_adding(self, client, admin_a, tenant_a):
        client.force_login(admin_a)
        response = client.post(
            reverse("admin:connections_hubspotapp_add"),
            {"tenant": tenant_a.pk, "name": "New", "app_id": 77, "client_id": "cid", "client_secret": ""},
        )
        assert response.status_code == 200
        assert "This field is required" in response.text
        assert not HubSpotApp.objects.filter(app_id=77).exists()

    def test_dumpdata_does_not_export_plaintext(self, db):
        HubSpotAppFactory(client_secret="dump-me-not")
        out = io.StringIO()
        call_command("dumpdata", "connections", stdout=out)
        assert "dump-me-not" not in out.getvalue()
