"""A real Celery worker subprocess for integration tests.

It runs the `test` settings against the very database pytest-django created (so it sees committed
rows of `transactional_db` tests) and a scratch Redis database as the broker, and while it runs the
test process publishes there instead of executing tasks eagerly.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from hitl_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def _drop_connection_pools():
    # Pools built for the previous broker URL would keep publishing to it (e.g. memory://). They
    # are dropped, not closed: code that still holds one must not hit "Acquire on closed pool".
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(transactional_db):
    """Start `celery worker` against the test database and a scratch Redis DB; route .delay() there."""
    broker = settings.TEST_REDIS_URL
    redis.Redis.from_url(broker).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hitl_portal.settings.test",
        "TEST_DB": "postgres",
        "TEST_DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": broker,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hitl_portal",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--hostname=roundtrip@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = broker, False
    _drop_connection_pools()
    try:
        yield worker
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        _drop_connection_pools()
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
