"""The README's key-rotation procedure, run against two live web processes under steady traffic:

1. deploy the new key list (new key first) to every process, one restart at a time;
2. `rotate_encryption_keys` (which refuses while any process lacks the new key);
3. deploy the list without the old key, one restart at a time.

Every request during it (signed HubSpot webhooks: each decrypts the app's client secret) must
succeed, and re-encrypting too early must be refused with nothing changed.
"""

import io
import threading
import time
from contextlib import ExitStack

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from core.crypto import fingerprint
from tests.factories import HubSpotAppFactory
from tests.gunicorn import free_port, running_gunicorn
from tests.webhooks.helpers import encode, load_fixture, path_of, signed_headers, webhook_url
from tests.worker import process_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SECRET = "rotate-me-client-secret"


def stored_token(app) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM connections_hubspotapp WHERE id = %s", [app.pk])
        return cursor.fetchone()[0]


class Traffic:
    """Signed webhooks, one after another, to whichever web processes are in `pool` (the load
    balancer's list); records every answer."""

    def __init__(self, path: str):
        self.session = requests.Session()
        self.path = path
        self.pool: list[str] = []
        self.lock = threading.Lock()
        self.results: list[tuple[str, int | str]] = []
        self.stopping = threading.Event()
        self.body = encode(load_fixture("conversation.creation__new_thread"))
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        turn = 0
        while not self.stopping.is_set():
            with self.lock:
                pool = list(self.pool)
            if not pool:
                time.sleep(0.05)
                continue
            base = pool[turn % len(pool)]
            turn += 1
            url = base + self.path
            # Signed over the URL the server knows itself by (its TEST_PUBLIC_BASE_URL).
            headers = {"Content-Type": "application/json", **signed_headers(SECRET, url, self.body)}
            try:
                status = self.session.post(url, data=self.body, headers=headers, timeout=20).status_code
            except Exception as exc:
                status = type(exc).__name__
            self.results.append((base, status))
            time.sleep(0.02)


@pytest.fixture
def webhook_app(settings):
    old = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    app = HubSpotAppFactory(tenant=None, name="Platform app", app_id=4242001, client_secret=SECRET)
    return app, old


def start_web(stack, env, keys, log_dir):
    port = free_port()
    server_env = env | {
        "TEST_FIELD_ENCRYPTION_KEYS": ",".join(keys),
        "TEST_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        # Every request reads and decrypts the app's secret (no per-process cache to hide a miss).
        "HITL_WEBHOOK_APP_CACHE_SECONDS": "0",
    }
    return stack.enter_context(running_gunicorn(server_env, log_dir, port=port, workers=2))


def test_rotation_procedure_with_two_processes_and_no_failed_request(webhook_app, settings, tmp_path):
    app, old = webhook_app
    new = Fernet.generate_key().decode()
    env = process_env()
    path = path_of(webhook_url(app, "app"))
    before = stored_token(app)

    with ExitStack() as stack:
        servers = {name: start_web(stack, env, [old], tmp_path) for name in ("a", "b")}
        traffic = Traffic(path)
        traffic.pool = [s.url for s in servers.values()]
        traffic.thread.start()

        def checks():
            return [arg for s in servers.values() for arg in ("--check-url", f"{s.url}/readyz")]

        def rolling_restart(keys):
            for name, server in list(servers.items()):
                with traffic.lock:
                    traffic.pool.remove(server.url)
                server.popen.terminate()  # gunicorn: graceful stop, in-flight requests finish
                server.popen.wait(timeout=30)
                servers[name] = start_web(stack, env, keys, tmp_path)
                with traffic.lock:
                    traffic.pool.append(servers[name].url)
                time.sleep(0.5)

        try:
            time.sleep(1)
            # The operator's shell has the new list; the processes do not yet: refused, untouched.
            settings.FIELD_ENCRYPTION_KEYS = [new, old]
            with pytest.raises(CommandError) as refused:
                call_command("rotate_encryption_keys", *checks(), stdout=io.StringIO())
            assert f"must hold the new key {fingerprint(new)}" in str(refused.value)
            assert "pid" in str(refused.value) and fingerprint(old) in str(refused.value)
            assert new not in str(refused.value) and old not in str(refused.value)
            assert stored_token(app) == before

            # 1. New key list everywhere, 2. re-encrypt, 3. old key gone everywhere.
            rolling_restart([new, old])
            out = io.StringIO()
            call_command("rotate_encryption_keys", *checks(), stdout=out)
            assert out.getvalue().count("ready: ") >= 2
            assert Fernet(new.encode()).decrypt(stored_token(app).encode()) == SECRET.encode()
            time.sleep(1)
            rolling_restart([new])
            time.sleep(1)
        finally:
            traffic.stopping.set()
            traffic.thread.join(timeout=30)

    statuses = [status for _, status in traffic.results]
    assert len(statuses) > 40, statuses
    assert set(statuses) == {200}, [r for r in traffic.results if r[1] != 200][:10]
    # Both generations of both processes served traffic.
    assert len({base for base, _ in traffic.results}) >= 6


@pytest.mark.redis
def test_celery_workers_are_asked_through_the_broker(start_celery_worker, settings, tmp_path):
    from core.key_check import check_processes

    worker = start_celery_worker("keys")
    deadline = time.monotonic() + 30
    report = check_processes([], timeout=2)
    while not report.ready and time.monotonic() < deadline:  # the worker still booting
        time.sleep(0.5)
        report = check_processes([], timeout=2)
    assert any(name.startswith("worker keys@") for name in report.ready), worker.output()

    # The command's list has a newer key than the worker's: the worker is named as not ready.
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    with pytest.raises(CommandError, match=r"not restarted with the new key list: worker keys@"):
        call_command(
            "rotate_encryption_keys", "--check-url", "http://127.0.0.1:1/readyz", stdout=io.StringIO()
        )


def test_a_broker_that_cannot_be_asked_refuses_without_a_traceback(settings):
    from tests.worker import using_broker

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with using_broker("redis://127.0.0.1:9/0"), pytest.raises(CommandError) as refused:
        call_command(
            "rotate_encryption_keys", "--check-url", "http://127.0.0.1:9/readyz", stdout=io.StringIO()
        )
    assert "could not ask: Celery workers (broker)" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
