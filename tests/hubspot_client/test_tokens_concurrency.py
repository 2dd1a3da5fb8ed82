"""Twenty workers find the same expired token at once: HubSpot sees exactly one refresh.

Real PostgreSQL row locks (SELECT ... FOR UPDATE) and a real token endpoint over HTTP on
127.0.0.1, which counts requests and answers slowly enough for every thread to pile up behind it.
"""

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from connections.hubspot.tokens import get_access_token
from tests.hubspot_client.factories import ACCESS_TOKEN, REFRESH_TOKEN, ConnectionFactory

THREADS = 20


class TokenEndpoint(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: TokenEndpoint

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        with self.server.lock:
            self.server.requests.append({"path": self.path, "form": form})
            n = len(self.server.requests)
        time.sleep(0.3)  # a slow HubSpot: every other thread arrives while this one is in flight
        body = json.dumps(
            {
                "access_token": f"at-{n}",
                "refresh_token": f"rt-rotated-{n}",
                "expires_in": 1800,
                "token_type": "bearer",
                "token_use": "access_token",
                "hub_id": 243842089,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def token_endpoint(settings):
    server = TokenEndpoint()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.HUBSPOT_API_BASE = server.url
    yield server
    server.shutdown()
    server.server_close()


def _run_at_once(target) -> tuple[list, list]:
    barrier = threading.Barrier(THREADS)
    results, failures = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(str(target()))
        except Exception as exc:  # collected and asserted below
            failures.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, failures


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_share_one_refresh_of_an_expired_token(token_endpoint):
    connection = ConnectionFactory(access_token_expires_at=timezone.now() - dt.timedelta(minutes=1))

    results, failures = _run_at_once(lambda: get_access_token(connection.pk))

    assert failures == []
    assert len(token_endpoint.requests) == 1
    assert token_endpoint.requests[0]["path"] == "/oauth/2026-03/token"
    assert token_endpoint.requests[0]["form"]["refresh_token"] == [REFRESH_TOKEN]
    assert results == ["at-1"] * THREADS
    connection.refresh_from_db()
    assert connection.access_token == "at-1"
    assert connection.refresh_token == "rt-rotated-1"
    assert connection.access_token_expires_at > timezone.now() + dt.timedelta(minutes=29)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_401s_share_one_forced_refresh(token_endpoint):
    connection = ConnectionFactory()  # fresh-looking, but HubSpot refused it (revoked, say)

    results, failures = _run_at_once(
        lambda: get_access_token(connection.pk, force=True, rejected=ACCESS_TOKEN)
    )

    assert failures == []
    assert len(token_endpoint.requests) == 1
    assert results == ["at-1"] * THREADS
