"""Passkeys (WebAuthn) as a second factor beside TOTP: staff register one and confirm sign-ins
with it; it counts as a second factor for the tenant's requirement and for superusers; the
ceremony endpoints need a signed-in staff session and a CSRF token; a passkey only ever verifies
the account it belongs to. Responses come from a software authenticator and go through the
portal's real verification."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from django_otp import user_has_device
from django_otp_webauthn.models import WebAuthnCredential

from tests.factories import UserFactory
from tests.security.passkey_authenticator import SoftAuthenticator, b64url

PASSWORD = "pw-for-tests"
BASE = "/admin/two-factor/passkeys/"


def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(settings.OTP_WEBAUTHN_RP_ID, settings.OTP_WEBAUTHN_ALLOWED_ORIGINS[0])


def post(client, path, body=None):
    return client.post(
        BASE + path, data=json.dumps(body) if body is not None else "", content_type="application/json"
    )


def register(client, key: SoftAuthenticator):
    begin = post(client, "registration/begin/")
    assert begin.status_code == 200, begin.content
    return post(client, "registration/complete/", key.create(begin.json()))


def confirm(client, key: SoftAuthenticator, **kwargs):
    begin = post(client, "authentication/begin/")
    assert begin.status_code == 200, begin.content
    return post(
        client,
        "authentication/complete/?next=/admin/conversations/escalation/",
        key.get(begin.json(), **kwargs),
    )


def sign_in_with_password(client, username):
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.fixture
def enrolled(client, admin_a):
    """alice, with a registered passkey, signed out."""
    key = authenticator()
    client.force_login(admin_a)
    assert register(client, key).status_code == 200
    client.logout()
    return key


def test_staff_register_a_passkey_and_it_is_a_confirmed_device(client, admin_a):
    client.force_login(admin_a)
    page = client.get("/admin/two-factor/").content.decode()
    assert 'id="passkey-register-button"' in page

    response = register(client, authenticator())

    assert response.status_code == 200
    credential = WebAuthnCredential.objects.get(user=admin_a)
    assert credential.confirmed and user_has_device(admin_a)
    # registering used the new passkey: this session is verified, the page lists it
    page = client.get("/admin/two-factor/").content.decode()
    assert "signed in with your second factor" in page and 'id="passkey-list"' in page


def test_sign_in_with_password_then_passkey(client, admin_a, enrolled):
    # the password alone signs in, but every staff page waits for the passkey
    sign_in_with_password(client, "alice")
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/two-factor/")
    page = client.get(response["Location"]).content.decode()
    assert 'id="passkey-verification-button"' in page
    assert 'id="passkey-register-button"' not in page  # no new factor before using the existing one

    done = confirm(client, enrolled)

    assert done.status_code == 200, done.content
    assert done.json()["redirect_url"] == "/admin/conversations/escalation/"
    assert client.get("/admin/").status_code == 200
    assert WebAuthnCredential.objects.get(user=admin_a).sign_count == 1


def test_a_wrong_origin_or_a_replayed_answer_does_not_verify(client, admin_a, enrolled):
    sign_in_with_password(client, "alice")
    assert confirm(client, enrolled, origin="https://evil.example.com").status_code >= 400
    assert client.get("/admin/").status_code == 302

    begin = post(client, "authentication/begin/").json()
    answer = enrolled.get(begin)
    assert post(client, "authentication/complete/", answer).status_code == 200
    client.logout()
    sign_in_with_password(client, "alice")
    # the same signed answer again: its challenge was used up
    assert post(client, "authentication/complete/", answer).status_code == 400
    assert client.get("/admin/").status_code == 302


def test_the_ceremonies_need_a_signed_in_staff_member(client, db):
    for path in ("registration/begin/", "authentication/begin/", "registration/complete/"):
        response = post(client, path)
        assert response.status_code == 403, path
        assert "challenge" not in response.content.decode()
    client.force_login(UserFactory(username="customer", is_staff=False))
    for path in ("registration/begin/", "authentication/begin/"):
        assert post(client, path).status_code == 403, path


def test_the_ceremonies_need_the_csrf_token(admin_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a)
    assert post(client, "registration/begin/").status_code == 403
    token = client.get("/admin/two-factor/").context["csrf_token"]
    response = client.post(BASE + "registration/begin/", HTTP_X_CSRFTOKEN=str(token))
    assert response.status_code == 200 and "challenge" in response.json()


def test_a_passkey_verifies_only_its_own_account(client, admin_a, admin_b, enrolled):
    # bob (another organisation) is signed in and offers alice's passkey
    bob_key = authenticator()
    client.force_login(admin_b)
    assert register(client, bob_key).status_code == 200
    client.logout()
    sign_in_with_password(client, "bob")

    begin = post(client, "authentication/begin/").json()
    allowed = {item["id"] for item in begin.get("allowCredentials", [])}
    assert allowed == {b64url(bob_key.credential_id)}  # alice's credential is never offered

    response = post(client, "authentication/complete/", enrolled.get(begin))

    assert response.status_code == 403 and response.json()["code"] == "credential_user_mismatch"
    assert client.get("/admin/").status_code == 302  # still not verified
    assert WebAuthnCredential.objects.get(user=admin_a).sign_count == 0


def test_a_second_factor_is_not_added_without_using_the_first(client, admin_a, enrolled):
    sign_in_with_password(client, "alice")
    response = post(client, "registration/begin/")
    assert response.status_code == 403 and response.json()["code"] == "user_not_verified"
    # nor an authenticator app: the two-factor page offers no TOTP set-up and refuses a code
    page = client.get("/admin/two-factor/").content.decode()
    assert "Setup key" not in page
    assert WebAuthnCredential.objects.filter(user=admin_a).count() == 1


def test_a_passkey_satisfies_the_organisations_requirement(client, lead_a, tenant_a):
    tenant_a.require_two_factor = True
    tenant_a.save()
    client.force_login(lead_a)
    assert client.get("/admin/conversations/escalation/").status_code == 302
    key = authenticator()
    assert register(client, key).status_code == 200
    assert client.get("/admin/conversations/escalation/").status_code == 200

    client.logout()
    sign_in_with_password(client, "lena")
    assert client.get("/admin/conversations/escalation/").status_code == 302
    assert confirm(client, key).status_code == 200
    assert client.get("/admin/conversations/escalation/").status_code == 200


def test_a_passkey_satisfies_the_superuser_rule(client, settings, db):
    settings.HITL_SUPERUSER_TWO_FACTOR = True
    root = UserFactory(username="root3", is_superuser=True)
    client.force_login(root)
    assert client.get("/admin/").status_code == 302
    key = authenticator()
    assert register(client, key).status_code == 200
    assert client.get("/admin/").status_code == 200
    client.logout()
    sign_in_with_password(client, "root3")
    assert client.get("/admin/").status_code == 302
    assert confirm(client, key).status_code == 200
    assert client.get("/admin/").status_code == 200


def test_the_relying_party_comes_from_the_public_base_url():
    from tests.security.test_sandbox_profile import boot_production

    run = boot_production(
        "from django.conf import settings as s; print(s.OTP_WEBAUTHN_RP_ID, s.OTP_WEBAUTHN_ALLOWED_ORIGINS)",
        HUBSPOT_SANDBOX="false",
        PUBLIC_BASE_URL="https://hitl.example.com",
    )
    assert run.returncode == 0, run.stderr
    assert "hitl.example.com ['https://hitl.example.com']" in run.stdout


pytestmark = pytest.mark.django_db


def test_a_passkey_added_elsewhere_is_asked_for_at_the_next_sign_in(client, admin_a):
    # alice is signed in here without a second factor
    sign_in_with_password(client, "alice")
    assert client.get("/admin/").status_code == 200
    # she adds a passkey in another browser
    other = Client()
    other.force_login(admin_a)
    key = authenticator()
    assert register(other, key).status_code == 200
    # signing in again here, in the same session (its data kept), now asks for it
    sign_in_with_password(client, "alice")
    assert client.get("/admin/").status_code == 302
    assert confirm(client, key).status_code == 200
    assert client.get("/admin/").status_code == 200
