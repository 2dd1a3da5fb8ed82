"""Test profile.

The suite runs on PostgreSQL when `TEST_DATABASE_URL` answers (the default points at 127.0.0.1),
because row locks, concurrency and a real Celery worker need a real server. Without one it falls
back to SQLite and the tests that need PostgreSQL skip with a reason, except under `CI=true`,
where a missing server fails the run. `TEST_DB=sqlite` forces the embedded database.
"""

import atexit
import os
import shutil
import tempfile

import environ

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-secret-key-" + "x" * 40
DEBUG = False
# Test-only keys: fixed so that worker subprocesses started by integration tests can decrypt.
FIELD_ENCRYPTION_KEYS = [
    "Wc3x0rCzH2l2pO5XXpP6J0o3-FgS8aT2bGL0h3mGqzE=",
    "mZ7GJ3vKq1nYQm2b5FqkT0pQpVxKjY9Yq3oYQH7n0zU=",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
# The test process runs tasks eagerly. A Celery worker started by a test (tests/worker.py) runs
# this same profile with TEST_CELERY_BROKER_URL set, and then behaves like a deployed worker:
# not eager, so tasks queued inside tasks and retries go through the broker.
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"

IS_CI = env.bool("CI", default=False)
TEST_DATABASE_URL = env.str("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/hitl")
TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
# RabbitMQ as the broker (tests marked `rabbitmq`): a vhost of its own, created by .ci/run.
TEST_RABBITMQ_URL = env.str("TEST_RABBITMQ_URL", default="amqp://guest:guest@127.0.0.1:5672/hitl_test")


def _per_xdist_worker(url: str) -> str:
    """pytest-xdist worker N gets Redis db (base - N): each worker flushes and brokers on its own db,
    as pytest-django gives each its own database. Worker subprocesses inherit the result."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, db = url.rpartition("/")
    return f"{base}/{(int(db or 0) - int(worker[2:])) % 16}"


TEST_REDIS_URL = _per_xdist_worker(TEST_REDIS_URL)
# RabbitMQ tests share one vhost: a queue per xdist worker keeps each worker's tasks its own.
CELERY_TASK_DEFAULT_QUEUE = f"celery-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        cfg = environ.Env.db_url_config(url)
        with psycopg.connect(
            host=cfg["HOST"] or "127.0.0.1",
            port=cfg["PORT"] or 5432,
            user=cfg["USER"] or "postgres",
            password=cfg["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=2,
        ):
            return True
    except Exception:
        return False


_choice = os.environ.get("TEST_DB", "auto")
if _choice == "sqlite" or (_choice == "auto" and not IS_CI and not _postgres_reachable(TEST_DATABASE_URL)):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
else:
    DATABASES = {"default": environ.Env.db_url_config(TEST_DATABASE_URL)}

# Tests drive the sandbox; live-server tests point the client at live_server.url + "/sandbox/api"
# and pass the same URLs to worker subprocesses. TEST_-prefixed so a developer's own PUBLIC_BASE_URL
# or HUBSPOT_* environment cannot leak into the suite.
HUBSPOT_SANDBOX = True
PUBLIC_BASE_URL = env.str("TEST_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
HUBSPOT_API_BASE = env.str("TEST_HUBSPOT_API_BASE", default="http://testserver/sandbox/api")
HUBSPOT_APP_BASE = env.str("TEST_HUBSPOT_APP_BASE", default="http://testserver/sandbox/app")
HUBSPOT_MAX_RETRIES = 3
HITL_ALLOW_PRIVATE_CALLBACKS = env.bool("HITL_ALLOW_PRIVATE_CALLBACKS", default=True)
# Off in the suite: the local-memory cache outlives a test and SQLite reuses key ids, so counts
# would leak from test to test. tests/api/test_rate_limits.py switches them on where it tests them.
HITL_BOT_API_RATE_LIMIT = env.str("TEST_BOT_API_RATE_LIMIT", default="off")
HITL_BOT_API_START_RATE_LIMIT = env.str("TEST_BOT_API_START_RATE_LIMIT", default="off")

# prometheus_client's multiprocess mode, as in a deployment: a test process and the subprocesses it
# starts (Celery worker, gunicorn: they inherit the variables) count into one directory and /metrics
# adds them up. One directory per pytest-xdist worker, so parallel tests do not see each other's
# counts. Set before anything imports prometheus_client.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if (
    not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    or os.environ.get("HITL_TEST_METRICS_WORKER", "") != _xdist_worker
):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hitl-metrics-")
    os.environ["HITL_TEST_METRICS_WORKER"] = _xdist_worker
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], True)
