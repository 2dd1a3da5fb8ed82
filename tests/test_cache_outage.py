"""With the shared cache (CACHE_URL) down: /readyz and the preflight name it, and the bot API's
rate limits fail open, as the README documents, loudly (an ERROR per process per minute)."""

import logging
import socket
import time

import pytest
from django.core.cache import cache

from conversations.api import throttling
from core.health import readiness
from tests.api.test_rate_limits import LIST, key_client


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.HITL_BOT_API_RATE_LIMIT = "3/min"
    settings.HITL_BOT_API_START_RATE_LIMIT = "off"
    throttling.cache_alarm.__init__()
    yield
    throttling.cache_alarm.__init__()


def test_readyz_names_the_cache_when_it_is_down(db, dead_cache):
    status, body = readiness()
    assert status == 503
    assert "cache" in body["failed"]
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["cache"]["backend"] == "RedisCache"


@pytest.mark.redis
def test_readyz_checks_a_live_cache(db, settings):
    backend = "django.core.cache.backends.redis.RedisCache"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": settings.TEST_REDIS_URL}}
    _status, body = readiness()
    assert body["checks"]["cache"]["status"] == "ok"


def test_rate_limits_fail_open_loudly_once_a_minute(db, dead_cache, tenant_a, caplog, monkeypatch):
    client = key_client(tenant_a, 1001)
    with caplog.at_level(logging.ERROR, logger="conversations.api.throttling"):
        started = time.monotonic()
        answers = [client.get(LIST).status_code for _ in range(5)]
        elapsed = time.monotonic() - started
    # Over the limit of 3, and still answered: the limiter failed open.
    assert answers == [200] * 5
    assert elapsed < 15  # each failed count gives up within the socket timeouts, never hangs
    alarms = [r for r in caplog.records if "rate limits NOT enforced" in r.getMessage()]
    assert len(alarms) == 1  # loud, but not one record per request

    # A minute later the next failure reports how many requests went through unlimited.
    monkeypatch.setattr(throttling.cache_alarm, "last", time.monotonic() - 61)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="conversations.api.throttling"):
        assert client.get(LIST).status_code == 200
    [alarm] = [r for r in caplog.records if "rate limits NOT enforced" in r.getMessage()]
    assert "5 request(s) allowed without a limit" in alarm.getMessage()
    cache.close()
