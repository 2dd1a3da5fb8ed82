"""Staff enrol a second factor (TOTP); a tenant admin can require it for their organisation;
superusers must have it in the production profile."""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from tests.security.test_sandbox_profile import boot_production

PASSWORD = "pw-for-tests"


def code(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(client, user) -> TOTPDevice:
    page = client.get("/admin/two-factor/")
    assert page.status_code == 200 and "Setup key" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/admin/two-factor/", {"otp_token": code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_staff_enrol_an_authenticator_app_and_then_sign_in_with_it(client, admin_a, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's back-off after a wrong code, tested upstream
    client.force_login(admin_a)
    device = enrol(client, admin_a)
    client.logout()

    without = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD})
    wrong = client.post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD, "otp_token": "000000"}
    )
    assert without.status_code == 200 and wrong.status_code == 200
    assert client.get("/admin/").status_code == 302

    right = client.post(
        "/admin/login/?next=/admin/",
        {"username": "alice", "password": PASSWORD, "otp_token": code(device, offset=1)},
    )
    assert right.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_does_not_enrol(client, admin_a):
    client.force_login(admin_a)
    client.get("/admin/two-factor/")
    response = client.post("/admin/two-factor/", {"otp_token": "12345"})
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=admin_a, confirmed=True).exists()


def test_a_tenant_admin_can_require_it_for_their_organisation(client, admin_a, lead_a, tenant_a):
    client.force_login(admin_a)
    form = client.get(f"/admin/tenants/tenant/{tenant_a.pk}/change/").content.decode()
    assert 'name="require_two_factor"' in form
    tenant_a.require_two_factor = True
    tenant_a.save()

    # a member without a device is sent to enrol, from every staff page
    client.force_login(lead_a)
    for path in ("/admin/", "/admin/conversations/escalation/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/two-factor/")
    enrol(client, lead_a)
    assert client.get("/admin/conversations/escalation/").status_code == 200


def test_members_of_other_organisations_are_not_affected(client, admin_b, tenant_a):
    tenant_a.require_two_factor = True
    tenant_a.save()
    client.force_login(admin_b)
    assert client.get("/admin/").status_code == 200


def test_superusers_must_verify_when_required(client, settings, db):
    root = UserFactory(username="root2", is_superuser=True)
    client.force_login(root)
    settings.HITL_SUPERUSER_TWO_FACTOR = False
    assert client.get("/admin/").status_code == 200
    settings.HITL_SUPERUSER_TWO_FACTOR = True
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/two-factor/")
    enrol(client, root)
    assert client.get("/admin/").status_code == 200


def test_the_production_profile_requires_it_for_superusers():
    # even when the environment tries to switch it off
    run = boot_production(
        "from django.conf import settings; print('required', settings.HITL_SUPERUSER_TWO_FACTOR)",
        HUBSPOT_SANDBOX="false",
        HITL_SUPERUSER_TWO_FACTOR="false",
    )
    assert run.returncode == 0, run.stderr
    assert "required True" in run.stdout


pytestmark = pytest.mark.django_db
