"""/healthz and /readyz: exact paths, no auth, any Host, no HTTPS redirect, honest per-check results."""

import socket
from unittest import mock

import pytest
from django.db import OperationalError, connections

from tests.worker import using_broker

PROBE = {"HTTP_HOST": "10.0.0.7:8000"}  # a load balancer probes by IP: not in ALLOWED_HOSTS


@pytest.fixture
def strict_host(settings):
    """Production-like: one allowed host, HTTPS redirect on."""
    settings.ALLOWED_HOSTS = ["hitl.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = []  # the middleware must not depend on it


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_is_ok_without_database(client, strict_host):
    # No `db` fixture: any database access here would raise.
    response = client.get("/healthz", **PROBE)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response


def test_other_paths_still_validate_the_host_and_redirect(client, strict_host):
    assert client.get("/admin/login/", **PROBE).status_code == 400  # DisallowedHost
    response = client.get("/admin/login/", HTTP_HOST="hitl.example.com")
    assert response.status_code == 301
    assert response["Location"].startswith("https://hitl.example.com/")


def test_head_answers_without_body(client, strict_host, db):
    for path in ("/healthz", "/readyz"):
        response = client.head(path, **PROBE)
        assert response.status_code == 200, path
        assert response.content == b""


def test_only_the_exact_paths(client, db):
    assert client.get("/healthz/").status_code == 404
    assert client.get("/readyz/").status_code == 404
    assert client.get("/healthz?probe=1").status_code == 200


def test_other_methods_are_405(client, strict_host):
    response = client.post("/readyz", **PROBE)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == "method_not_allowed"


def test_readyz_eager_reports_broker_not_configured(client, strict_host, db):
    response = client.get("/readyz", **PROBE)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"] == {"status": "not configured"}


def test_readyz_names_a_failing_database_without_its_password(client, db):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection to postgres://hitl:pa55word@db.internal:5432/hitl failed")

    # Only around the request: the test's own transaction still needs a cursor to roll back.
    with mock.patch.object(connections["default"], "cursor", broken_cursor):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["database"]["status"] == "error"
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert "pa55word" not in response.content.decode()
    assert "postgres://***@db.internal" in body["checks"]["database"]["error"]


@pytest.mark.redis
def test_readyz_checks_a_redis_broker(client, settings, db):
    with using_broker(settings.TEST_REDIS_URL):
        response = client.get("/readyz", **PROBE)
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["broker"]["status"] == "ok"
    assert response.json()["checks"]["broker"]["transport"] == "redis"


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_readyz_is_503_naming_an_unreachable_broker(client, db, scheme):
    url = f"{scheme}://hitl:br0kerpw@127.0.0.1:{closed_port()}/0"
    with using_broker(url):
        response = client.get("/readyz", **PROBE)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"]["transport"] == scheme
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["status"] == "ok"
    assert "br0kerpw" not in response.content.decode()


@pytest.mark.rabbitmq
def test_readyz_checks_a_rabbitmq_broker(client, settings, db):
    with using_broker(settings.TEST_RABBITMQ_URL):
        response = client.get("/readyz", **PROBE)
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["broker"] == {
        "status": "ok",
        "transport": "amqp",
        "ms": response.json()["checks"]["broker"]["ms"],
    }


@pytest.mark.rabbitmq
def test_readyz_is_503_for_a_wrong_rabbitmq_password(client, settings, db):
    url = settings.TEST_RABBITMQ_URL.replace("guest:guest@", "guest:wr0ngpw@")
    with using_broker(url):
        response = client.get("/readyz", **PROBE)
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert "wr0ngpw" not in response.content.decode()


def test_readyz_reports_profile_pid_and_key_fingerprints_never_keys(client, settings, db):
    import os

    from core.crypto import fingerprint

    response = client.get("/readyz", **PROBE)
    body = response.json()
    assert body["profile"] == "test"
    assert body["pid"] == os.getpid()
    assert body["encryption_keys"] == [fingerprint(k) for k in settings.FIELD_ENCRYPTION_KEYS]
    assert len(body["encryption_keys"][0]) == 12
    for key in settings.FIELD_ENCRYPTION_KEYS:
        assert key not in response.content.decode()


def test_readyz_scrubs_the_cache_password(client, settings, db):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://:c4chepw@127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = client.get("/readyz", **PROBE)
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]
    assert "c4chepw" not in response.content.decode()


def test_local_profile_with_public_hosts_is_not_ready(client, db, monkeypatch):
    monkeypatch.setattr("hitl_portal.env.profile", lambda: "local")
    monkeypatch.delenv("DJANGO_ENV", raising=False)
    monkeypatch.setenv("ALLOWED_HOSTS", "hitl.example.com,localhost")
    response = client.get("/readyz", **PROBE)
    assert response.status_code == 503
    assert response.json()["failed"] == ["profile"]
    assert "ALLOWED_HOSTS names hitl.example.com" in response.json()["checks"]["profile"]["error"]
    # Explicitly local (a developer's own machine) is fine.
    monkeypatch.setenv("DJANGO_ENV", "local")
    assert client.get("/readyz", **PROBE).status_code == 200
