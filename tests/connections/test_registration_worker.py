"""Registration through a real Redis broker and a real Celery worker process, on PostgreSQL.

The admin's request publishes the task on commit; the worker runs it, re-schedules itself with a
countdown while the sandbox does not list the new channel yet, and finishes. This proves the
countdown path with a broker, which eager mode (used elsewhere) skips.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection as db_connection

from connections import registration
from connections.models import ChannelRegistration, RegistrationState
from hitl_portal.celery import app as celery_app
from tests.connections.helpers import accounts_by_inbox, live_channels
from tests.worker import _drop_connection_pools

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(hubspot):
    """Like tests.worker.celery_worker, but with settings that reach the live server's sandbox."""
    broker = settings.TEST_REDIS_URL
    redis.Redis.from_url(broker).flushdb()
    db = db_connection.settings_dict
    database = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.connections.worker_settings",
        "TEST_DB": "postgres",
        "TEST_DATABASE_URL": database,
        "CELERY_BROKER_URL": broker,
        "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
        "HUBSPOT_API_BASE": settings.HUBSPOT_API_BASE,
        "HUBSPOT_APP_BASE": settings.HUBSPOT_APP_BASE,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "hitl_portal",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
    ]
    command += ["--hostname=registration@%h", "--without-gossip", "--without-mingle"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = broker, False
    _drop_connection_pools()
    try:
        yield process
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        _drop_connection_pools()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_worker_registers_the_channel_through_redis(worker, with_inboxes, hubspot, behaviour):
    behaviour.channel_list_delay_seconds = 3
    behaviour.save()

    registration.request_registration(with_inboxes)

    seen = []
    deadline = time.monotonic() + 60
    while True:
        state = ChannelRegistration.objects.get(connection=with_inboxes).state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in (RegistrationState.ACTIVE, RegistrationState.FAILED):
            break
        if worker.poll() is not None:
            pytest.fail("worker exited:\n" + worker.stdout.read())
        if time.monotonic() > deadline:
            worker.terminate()
            pytest.fail(f"registration stuck in {seen}:\n" + worker.communicate(timeout=15)[0])
        time.sleep(0.1)

    reg = ChannelRegistration.objects.get(connection=with_inboxes)
    assert reg.state == RegistrationState.ACTIVE, reg.detail
    assert RegistrationState.WAITING_FOR_LISTING in seen
    assert live_channels(hubspot).count() == 1
    assert {inbox: len(a) for inbox, a in accounts_by_inbox(hubspot).items()} == dict.fromkeys(
        hubspot["inbox_ids"], 1
    )
