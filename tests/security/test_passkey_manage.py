"""A person renames and removes their own passkeys from the two-factor page (core/passkey_manage.py):
POST with the CSRF token only, their own passkeys only, after using their second factor in this
session, never the last factor an account must have, one audit entry per change."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from core.models import AuditLogEntry
from tests.security.test_passkeys import PASSWORD, authenticator, register

PAGE = "/admin/two-factor/"


def url(passkey, what: str) -> str:
    return f"/admin/two-factor/passkey/{passkey.pk}/{what}/"


def with_passkey(client, user) -> WebAuthnCredential:
    """`user` signed in on `client`, having registered a passkey (which verifies the session)."""
    client.force_login(user)
    assert register(client, authenticator()).status_code == 200
    return WebAuthnCredential.objects.get(user=user)


def changes() -> list[tuple[str, str, str]]:
    entries = AuditLogEntry.objects.filter(action__startswith="passkey.").order_by("pk")
    return list(entries.values_list("action", "actor_label", "target_id"))


@pytest.mark.django_db
def test_the_owner_renames_and_removes_a_passkey_each_audited(client, admin_a):
    passkey = with_passkey(client, admin_a)
    page = client.get(PAGE).content.decode()
    assert f'action="{url(passkey, "rename")}"' in page and f'action="{url(passkey, "remove")}"' in page

    renamed = client.post(url(passkey, "rename"), {"name": "  Work   laptop "})
    assert renamed.status_code == 302 and renamed["Location"] == PAGE
    passkey.refresh_from_db()
    assert passkey.name == "Work laptop"
    assert "Work laptop" in client.get(PAGE).content.decode()

    removed = client.post(url(passkey, "remove"))
    assert removed.status_code == 302 and removed["Location"] == PAGE
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert changes() == [
        ("passkey.rename", "alice", str(passkey.pk)),
        ("passkey.remove", "alice", str(passkey.pk)),
    ]
    # With no second factor left (and none required), the admin no longer asks for one.
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_another_persons_passkey_is_a_404_and_untouched(client, admin_a, admin_b):
    theirs = with_passkey(Client(), admin_a)
    with_passkey(client, admin_b)
    assert client.post(url(theirs, "rename"), {"name": "Mine now"}).status_code == 404
    assert client.post(url(theirs, "remove")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "Mine now" and not changes()


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_and_a_get_change_nothing(client, admin_a):
    passkey = with_passkey(client, admin_a)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post(url(passkey, "rename"), {"name": "Forged"}).status_code == 403
    assert strict.post(url(passkey, "remove")).status_code == 403
    assert client.get(url(passkey, "remove")).status_code == 405
    token = strict.get(PAGE).context["csrf_token"]
    with_token = {"name": "Real", "csrfmiddlewaretoken": token}
    assert strict.post(url(passkey, "rename"), with_token).status_code == 302
    passkey.refresh_from_db()
    assert passkey.name == "Real" and [c[0] for c in changes()] == ["passkey.rename"]


@pytest.mark.django_db
def test_a_session_that_has_not_used_its_second_factor_is_sent_to_confirm(client, admin_a):
    passkey = with_passkey(Client(), admin_a)
    assert client.post("/admin/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    response = client.post(url(passkey, "remove"))
    assert response.status_code == 302 and response["Location"].startswith(f"{PAGE}?next=")
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists() and not changes()


@pytest.mark.django_db
def test_the_last_factor_of_an_account_that_must_have_one_stays(client, admin_a, tenant_a):
    tenant_a.require_two_factor = True
    tenant_a.save(update_fields=["require_two_factor"])
    passkey = with_passkey(client, admin_a)
    response = client.post(url(passkey, "remove"), follow=True)
    assert "add another one before removing this one" in response.content.decode()
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists() and not changes()
