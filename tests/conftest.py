import os

import pytest

from tenants.models import Role
from tests import isolation, services
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.jobs import captured_jobs


def _flush_by_delete():
    """Transactional tests (live_server, django_db(transaction=True)) end with Django's flush: on
    PostgreSQL one TRUNCATE of every table (66), which costs 0.4-2 s per test because each table
    gets new files, against 5-30 ms for DELETE on the few rows a test leaves. The tables end as
    empty either way and no sequence is reset by either (flush's reset_sequences=False); foreign
    keys are all DEFERRABLE INITIALLY DEFERRED (Django's), checked once all rows are gone."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        delete = style.SQL_KEYWORD("DELETE FROM")
        return ["SET CONSTRAINTS ALL DEFERRED"] + [
            f"{delete} {style.SQL_FIELD(self.quote_name(table))};" for table in tables
        ]

    DatabaseOperations.sql_flush = sql_flush


def pytest_configure(config):
    _flush_by_delete()
    # pytest-xdist's controller runs no test: only the processes that do claim a Redis db.
    if getattr(config, "workerinput", None) is None and getattr(config.option, "numprocesses", None):
        return
    isolation.claim_redis_db()


# Servers, workers and commands the tests start read no env file (hitl_portal/env.py): a
# developer's .env must not change what they run. Tests of env files pass ENV_FILE themselves.
os.environ["ENV_FILE"] = os.devnull


def pytest_runtest_setup(item):
    services.require(item)


@pytest.fixture(autouse=True, scope="session")
def _celery_tasks_discovered(django_db_blocker):
    """Celery's task autodiscovery, done once before any test. Done on a process's first job
    instead (core/jobs.py), it runs Celery's Django fixup, which sets Django up again, and logging's
    dictConfig then replaces the root handlers, caplog's among them: a test queueing the first job
    of its process lost every log record it meant to check (tests/faults/test_bot_api_broker_down.py
    failed when run alone or first in its process)."""
    from hitl_portal.celery import app

    with django_db_blocker.unblock():
        app.loader.import_default_modules()


@pytest.fixture(autouse=True)
def _celery_may_join_results():
    """Clear the process-wide flag behind Celery's "Never call result.get() within a task!".

    In eager mode `apply_async` sets that flag for the call and puts back what it found. It is one
    global, not per thread: two threads running eager tasks at once (live-server request threads)
    can put back each other's True and leave it set, and every later `.apply().get()` in the same
    test process then raises. No deployed process runs tasks eagerly."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture
def tenant_a(db):
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def admin_a(tenant_a):
    return MembershipFactory(tenant=tenant_a, user=UserFactory(username="alice"), role=Role.ADMIN).user


@pytest.fixture
def admin_b(tenant_b):
    return MembershipFactory(tenant=tenant_b, user=UserFactory(username="bob"), role=Role.ADMIN).user


@pytest.fixture
def lead_a(tenant_a):
    return MembershipFactory(tenant=tenant_a, user=UserFactory(username="lena"), role=Role.SUPPORT_LEAD).user


@pytest.fixture
def hubspot(live_server, settings):
    """The seeded demo HubSpot (sandbox), reached over real HTTP at the live server: the portal's
    public URL and HubSpot bases point there, as they would at a deployment and HubSpot."""
    from sandbox.seed import seed_demo

    settings.PUBLIC_BASE_URL = live_server.url
    settings.HUBSPOT_API_BASE = f"{live_server.url}/sandbox/api"
    settings.HUBSPOT_APP_BASE = f"{live_server.url}/sandbox/app"
    return seed_demo(live_server.url)


@pytest.fixture
def queued_jobs():
    """What core.jobs queued during the test (tests/jobs.py), recorded instead of sent."""
    with captured_jobs() as sent:
        yield sent


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


pytest_plugins = ["tests.worker", "tests.browser", "tests.figures", "pytester"]
