"""Twenty workers find the same expired token at once: HubSpot sees exactly one refresh.

Real PostgreSQL row locks (SELECT ... FOR UPDATE) and a real token endpoint over HTTP on
127.0.0.1, which counts requests and answers slowly enough for every thread to pile up behind it.
"""

import datetime as dt
import json
import threading
from urllib.parse import parse_qs

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from connections.hubspot.tokens import get_access_token
from tests.http_receiver import HTTPReceiver, Reply, Request
from tests.hubspot_client.factories import ACCESS_TOKEN, REFRESH_TOKEN, ConnectionFactory

THREADS = 20


@pytest.fixture
def token_endpoint(settings):
    """HubSpot's token endpoint, counting requests and answering slowly enough for every thread to
    pile up behind the first."""
    server = HTTPReceiver()

    def answer(request: Request) -> Reply:
        n = server.requests.index(request) + 1
        body = {
            "access_token": f"at-{n}",
            "refresh_token": f"rt-rotated-{n}",
            "expires_in": 1800,
            "token_type": "bearer",
            "token_use": "access_token",
            "hub_id": 243842089,
        }
        return Reply(body=json.dumps(body).encode(), content_type="application/json;charset=utf-8", delay=0.3)

    server.respond = answer
    with server:
        settings.HUBSPOT_API_BASE = server.url("")
        yield server


def form(request: Request) -> dict[str, list[str]]:
    return parse_qs(request.body.decode())


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
    assert token_endpoint.requests[0].path == "/oauth/2026-03/token"
    assert form(token_endpoint.requests[0])["refresh_token"] == [REFRESH_TOKEN]
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
