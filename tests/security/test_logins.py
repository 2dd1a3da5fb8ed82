"""Failed sign-ins are throttled per user name and per address, with a lock-out message and an
unlock in the admin (django-axes)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt

from tests.factories import UserFactory

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def sign_in(client, username, password, address="198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_one_user_name_is_locked_after_repeated_failures_from_any_address(client, db, limits):
    UserFactory(username="alice")
    for n in range(3):
        sign_in(client, "alice", "wrong", address=f"198.51.100.{n + 1}")

    locked = sign_in(client, "alice", PASSWORD, address="198.51.100.99")

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert not signed_in(client)


def test_one_address_is_locked_after_failures_for_many_user_names(client, db, limits):
    UserFactory(username="bob")
    for n in range(3):
        sign_in(client, f"guess{n}", "wrong", address="203.0.113.5")

    assert sign_in(client, "bob", PASSWORD, address="203.0.113.5").status_code == 429
    assert not signed_in(client)
    # another address still signs bob in
    assert sign_in(client, "bob", PASSWORD, address="203.0.113.6").status_code == 302


def test_an_admin_unlocks_from_the_admin(client, db, limits, superuser):
    UserFactory(username="carol")
    for _ in range(3):
        sign_in(client, "carol", "wrong")
    assert sign_in(client, "carol", PASSWORD).status_code == 429

    admin = client.__class__()
    admin.force_login(superuser)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "carol" in listing.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )

    assert sign_in(client, "carol", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_tenant_admin_cannot_see_attempts(client, admin_a):
    client.force_login(admin_a)
    assert client.get("/admin/axes/accessattempt/").status_code in (302, 403, 404)


def test_successful_sign_ins_log_nothing_at_info_and_failures_still_do(client, db, caplog):
    UserFactory(username="dora")
    caplog.set_level("INFO")

    assert sign_in(client, "dora", PASSWORD).status_code == 302
    assert [r for r in caplog.records if r.name.startswith("axes") and r.levelno >= 20] == []

    caplog.clear()
    sign_in(client, "dora", "wrong")
    failures = [r.getMessage() for r in caplog.records if r.name.startswith("axes") and r.levelno >= 20]
    assert any("login failed" in message.lower() for message in failures), failures


def test_successful_sign_ins_are_kept_at_debug(client, db, caplog):
    UserFactory(username="ed")
    caplog.set_level("DEBUG", logger="axes")

    assert sign_in(client, "ed", PASSWORD).status_code == 302
    successes = [r for r in caplog.records if "Successful login" in r.getMessage()]
    assert [r.levelname for r in successes] == ["DEBUG"]
