"""Rate limits of the bot API per key: 429 rate_limited with Retry-After, other keys unaffected,
the window resets, a refused start stores and sends nothing."""

import pytest
import redis
from django.core.cache import cache
from rest_framework.test import APIClient

from connections.models import BotApiKey, Connection, ConnectionStatus
from conversations.api.throttling import BotKeyRateThrottle
from conversations.models import BotApiRequest, Escalation
from sandbox.models import SandboxThread
from tests.api.conftest import start_body
from tests.factories import HubSpotAppFactory

LIST = "/api/v1/escalations/"


class Clock:
    """The throttles' timer, moved by the test (no freezegun: only the limiter's clock moves)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    # A staticmethod, or the instance would pass itself to Clock.__call__.
    monkeypatch.setattr(BotKeyRateThrottle, "timer", staticmethod(clock))
    return clock


@pytest.fixture
def limits(settings):
    cache.clear()
    settings.HITL_BOT_API_RATE_LIMIT = "3/min"
    settings.HITL_BOT_API_START_RATE_LIMIT = "off"
    yield settings
    cache.clear()


def key_client(tenant, portal_id: int) -> APIClient:
    connection = Connection.objects.create(
        tenant=tenant,
        app=HubSpotAppFactory(tenant=tenant),
        portal_id=portal_id,
        status=ConnectionStatus.ACTIVE,
    )
    _key, plaintext = BotApiKey.issue(connection)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_the_request_after_the_limit_is_429_with_retry_after(limits, clock, tenant_a):
    client = key_client(tenant_a, 1001)
    answers = [client.get(LIST) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert answers[0]["X-RateLimit-Limit"] == "3"

    clock.now += 20  # 20 s into the minute window (which started at a multiple of 60)
    refused = client.get(LIST)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    body = refused.json()
    assert body["error"] == "rate_limited"
    assert body["message"] == (
        "Too many requests with this bot API key: at most 3 requests per minute. Retry in 40 s."
    )
    assert body["retry_after"] == 40 and body["limit"] == 3 and body["scope"] == "bot_api"
    assert refused["X-RateLimit-Remaining"] == "0"


def test_other_keys_are_unaffected(limits, clock, tenant_a, tenant_b):
    busy, other = key_client(tenant_a, 1001), key_client(tenant_b, 2002)
    for _ in range(3):
        busy.get(LIST)
    assert busy.get(LIST).status_code == 429
    assert other.get(LIST).status_code == 200
    assert other.get(LIST)["X-RateLimit-Remaining"] == "1"


def test_the_window_resets(limits, clock, tenant_a):
    client = key_client(tenant_a, 1001)
    for _ in range(3):
        assert client.get(LIST).status_code == 200
    assert client.get(LIST).status_code == 429
    clock.now += 59
    assert client.get(LIST).status_code == 429
    clock.now += 1  # the next minute window
    response = client.get(LIST)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "2"


def test_unauthenticated_requests_are_401_not_counted(limits, clock, db):
    for _ in range(5):
        assert APIClient().get(LIST).status_code == 401


def test_off_means_no_limit_and_no_headers(limits, clock, tenant_a):
    limits.HITL_BOT_API_RATE_LIMIT = "off"
    client = key_client(tenant_a, 1001)
    for _ in range(10):
        response = client.get(LIST)
        assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


@pytest.mark.redis
def test_counted_in_redis_when_the_cache_is_redis(limits, clock, tenant_a, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.TEST_REDIS_URL,
        }
    }
    cache.clear()
    client = key_client(tenant_a, 1001)
    for _ in range(3):
        assert client.get(LIST).status_code == 200
    assert client.get(LIST).status_code == 429
    # The counter lives in Redis, where every web worker's limiter reads the same number.
    server = redis.Redis.from_url(settings.TEST_REDIS_URL)
    [counter] = [k for k in server.keys("*hitl:ratelimit:bot_api:*")]
    assert int(server.get(counter)) == 4
    cache.clear()


def test_a_cache_outage_lets_requests_through(limits, clock, tenant_a, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "incr", down)
    client = key_client(tenant_a, 1001)
    for _ in range(5):
        assert client.get(LIST).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_refused_start_stores_and_sends_nothing(bot, settings, clock):
    cache.clear()
    settings.HITL_BOT_API_RATE_LIMIT = "100/min"
    settings.HITL_BOT_API_START_RATE_LIMIT = "1/hour"

    first = bot.post("escalations/", start_body(conversation_id="conv-1"))
    assert first.status_code == 201, first.text
    threads = SandboxThread.objects.count()

    refused = bot.post("escalations/", start_body(conversation_id="conv-2"))

    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["scope"] == "bot_api_start"
    assert "at most 1 escalation starts per hour" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert list(Escalation.objects.values_list("conversation_id", flat=True)) == ["conv-1"]
    assert SandboxThread.objects.count() == threads
    # The timeline records the accepted start only: a throttled flood writes nothing.
    assert list(BotApiRequest.objects.values_list("action", "status_code")) == [("start", 201)]
    # Other calls of the key still pass: only starts are limited this tightly.
    assert bot.get(f"escalations/{first.json()['id']}/").status_code == 200
    cache.clear()


def test_the_schema_documents_429_and_retry_after(client, db):
    spec = client.get("/api/schema/?format=json").json()
    create = spec["paths"]["/api/v1/escalations/"]["post"]
    assert create["responses"]["429"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RateLimited"
    }
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert "X-RateLimit-Remaining" in create["responses"]["200"]["headers"]
    for path in spec["paths"].values():
        for operation in path.values():
            assert "429" in operation["responses"], operation["operationId"]
