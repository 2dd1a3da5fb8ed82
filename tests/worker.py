"""A real Celery worker subprocess for integration tests.

It runs the `test` settings against the very database pytest-django created (so it sees committed
rows of `transactional_db` tests) and a scratch Redis database as the broker (or, given a `broker`
URL, another one: `rabbitmq_worker` uses TEST_RABBITMQ_URL's vhost), with this process's
public and HubSpot URLs (a live_server's, when a test set them), and it is not eager: like a
deployed worker it sends tasks queued inside tasks, and retries, through the broker. While it runs,
the test process publishes there instead of executing tasks eagerly.

`celery_worker` starts one at once; `start_celery_worker(name)` starts one later, after a test
pointed settings at its live_server.
"""

import io
import os
import subprocess
import sys
from contextlib import ExitStack, contextmanager
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


class WorkerProcess:
    """The worker's process, answering like a Popen whose output went to a pipe."""

    def __init__(self, popen: subprocess.Popen, log_path: Path):
        self.popen = popen
        self.log_path = log_path

    def poll(self):
        return self.popen.poll()

    def terminate(self) -> None:
        self.popen.terminate()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def stdout(self) -> io.StringIO:
        return io.StringIO(self.output())

    def communicate(self, timeout: float | None = None) -> tuple[str, None]:
        self.popen.terminate()
        self.popen.wait(timeout=timeout)
        return self.output(), None


def process_env(broker: str | None = None) -> dict:
    """Environment of a subprocess running the `test` settings on this test's database and URLs:
    a worker (with its broker), or a web server (no broker: it runs tasks eagerly)."""
    db = connection.settings_dict
    database = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hitl_portal.settings.test",
        "TEST_DB": "postgres",
        "TEST_DATABASE_URL": database,
        "TEST_PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
        "TEST_HUBSPOT_API_BASE": settings.HUBSPOT_API_BASE,
        "TEST_HUBSPOT_APP_BASE": settings.HUBSPOT_APP_BASE,
        # This process's Redis db (claimed, or the explicit one minus the xdist worker): used as is.
        "TEST_REDIS_URL": settings.TEST_REDIS_URL,
        "TEST_REDIS_URL_FINAL": "1",
    }
    # Celery reads CELERY_BROKER_URL from the environment ahead of its settings: never inherit one.
    env.pop("CELERY_BROKER_URL", None)
    env.pop("TEST_CELERY_BROKER_URL", None)
    if broker:
        env["TEST_CELERY_BROKER_URL"] = broker
    env["HITL_QUEUE_UPDATE_MIN_SECONDS"] = str(settings.HITL_QUEUE_UPDATE_MIN_SECONDS)
    schedule = getattr(settings, "HITL_CALLBACK_RETRY_SCHEDULE", None)
    if schedule:
        env["HITL_CALLBACK_RETRY_SCHEDULE"] = ",".join(str(s) for s in schedule)
    return env


@contextmanager
def using_broker(broker: str):
    """This process publishes to `broker` (not eagerly) while the block runs."""
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = broker, False
    _drop_connection_pools()
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        _drop_connection_pools()


def _empty(broker: str) -> None:
    """Drop what an earlier run left queued on this scratch broker."""
    if broker.startswith("redis"):
        redis.Redis.from_url(broker).flushdb()
        return
    with celery_app.connection_for_write(broker) as conn:
        celery_app.control.purge(connection=conn)


@contextmanager
def running_worker(name: str, log_dir: Path, broker: str | None = None, *, empty: bool = True):
    """empty=False: a worker (re)started beside others, or after a crash, keeps what is queued."""
    broker = broker or settings.TEST_REDIS_URL
    if empty:
        _empty(broker)
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
    command += [f"--hostname={name}@%h", "--without-gossip", "--without-mingle"]
    log_path = log_dir / f"{name}-worker.log"
    # Output goes to a file: a pipe nobody reads would fill up and block a chatty worker.
    with open(log_path, "w") as log:
        popen = subprocess.Popen(
            command, cwd=ROOT, env=process_env(broker), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        with using_broker(broker):
            yield WorkerProcess(popen, log_path)
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.kill()


@contextmanager
def running_beat(log_dir: Path, broker: str | None = None):
    """`celery beat` as deployed (the DatabaseScheduler, the settings' schedule), publishing the
    periodic sweeps to `broker` (TEST_REDIS_URL by default)."""
    broker = broker or settings.TEST_REDIS_URL
    command = [sys.executable, "-m", "celery", "-A", "hitl_portal", "beat", "--loglevel=INFO"]
    with open(log_dir / "beat.log", "w") as log:
        popen = subprocess.Popen(
            command, cwd=ROOT, env=process_env(broker), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield WorkerProcess(popen, log_dir / "beat.log")
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.kill()


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    with running_worker("roundtrip", tmp_path) as worker:
        yield worker


@pytest.fixture
def start_celery_worker(transactional_db, tmp_path):
    """`start_celery_worker(name, broker=None, empty=True)`: Redis (TEST_REDIS_URL) unless a broker
    URL is given; empty=False keeps the tasks already queued (a second worker, a restart)."""
    with ExitStack() as stack:
        yield lambda name="worker", broker=None, empty=True: stack.enter_context(
            running_worker(name, tmp_path, broker, empty=empty)
        )


@pytest.fixture
def rabbitmq_worker(transactional_db, tmp_path):
    """A worker consuming from RabbitMQ (TEST_RABBITMQ_URL), this process publishing there."""
    with running_worker("rabbit", tmp_path, broker=settings.TEST_RABBITMQ_URL) as worker:
        yield worker
