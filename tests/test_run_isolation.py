"""Two test runs on one machine at once get their own PostgreSQL database and Redis db."""

import os
import subprocess
import sys

import pytest
import redis
from django.conf import settings

from tests import isolation
from tests.worker import ROOT

PRINT_SETTINGS = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'hitl_portal.settings.test'; "
    "from django.conf import settings; print(settings.TEST_DATABASE_URL, settings.CELERY_TASK_DEFAULT_QUEUE)"
)


def _settings_of_a_new_run(**env) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"HITL_TEST_RUN_ID", "TEST_DATABASE_URL", "TEST_REDIS_URL", "PYTEST_XDIST_WORKER"}
    }
    done = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={**clean, "TEST_DB": "sqlite", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_each_run_names_its_own_database_and_queue():
    first, second = _settings_of_a_new_run(), _settings_of_a_new_run()
    assert first != second
    assert all("/hitl_" in line for line in (first, second))


def test_an_explicit_database_url_is_honoured():
    url = "postgres://postgres@127.0.0.1:5432/mine"
    assert _settings_of_a_new_run(TEST_DATABASE_URL=url).split()[0] == url


@pytest.mark.redis
def test_a_redis_db_held_by_another_run_is_not_claimed():
    server_url = settings.TEST_REDIS_URL
    held = {
        int(c["db"]) for c in redis.Redis.from_url(server_url).client_list() if isolation.PREFIX in c["name"]
    }
    db = min(set(range(1, 16)) - held)  # no run's: held here for the test by "another run"
    other = redis.Redis.from_url(isolation._with_db(server_url, db))
    other.client_setname(f"{isolation.PREFIX}another-run:gw0")
    try:
        assert isolation._hold(server_url, db) is None
        other.close()
        mine = isolation._hold(server_url, db)
        assert mine is not None  # released when the other run's connection closed
        mine.close()
    finally:
        other.close()


@pytest.mark.redis
def test_this_process_holds_its_redis_db():
    db = int(settings.TEST_REDIS_URL.rsplit("/", 1)[1])
    clients = redis.Redis.from_url(settings.TEST_REDIS_URL).client_list()
    mine = [c for c in clients if c.get("name", "").startswith(f"{isolation.PREFIX}{settings.TEST_RUN_ID}")]
    assert any(int(c["db"]) == db for c in mine)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_flush_after_a_transactional_test_empties_every_table(admin_a, tenant_a):
    """tests/conftest.py flushes with DELETE instead of TRUNCATE: rows linked by foreign keys in both
    directions (tenant, membership, connection, inbox, escalation, message) all go, as TRUNCATE's
    did, and the content types and permissions come back as after migrate."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection

    from tests.factories import ConnectionFactory, InboxFactory, escalation, message

    message(escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_a))), 1)
    permissions = Permission.objects.count()

    call_command("flush", interactive=False, verbosity=0)

    kept = {ContentType._meta.db_table, Permission._meta.db_table}
    with connection.cursor() as cursor:
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            assert cursor.fetchone()[0] == 0 or table in kept, table
    assert Permission.objects.count() == permissions
