"""The client-side limiter keeps every rolling 10 s window under the limit, with a fake clock."""

import pytest
from django.conf import settings as django_settings

from connections.hubspot import HubSpotClient, HubSpotRateLimited
from connections.hubspot.ratelimit import SlidingWindowLimiter, portal_limiter
from tests.hubspot_client.conftest import API, load_fixture


class FakeClock:
    def __init__(self, start: float = 1_000_000.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def _limiter(clock, key="4242001:243842089", limit=5, **options):
    return SlidingWindowLimiter(key, limit, 10.0, clock=clock, sleep=clock.sleep, **options)


def _max_in_any_window(times: list[float], window: float = 10.0) -> int:
    return max(sum(1 for u in times if t - window < u <= t) for t in times)


def test_requests_under_the_limit_do_not_wait():
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(5):
        assert limiter.acquire() == 0.0
    assert clock.sleeps == []


def test_a_full_window_waits_until_the_oldest_requests_leave_it():
    clock = FakeClock(1000.0)
    limiter = _limiter(clock)
    for _ in range(5):
        limiter.acquire()

    waited = limiter.acquire()

    # All five sit in bucket [1000, 1001); it stops counting once the bucket 1011 begins.
    assert waited == pytest.approx(11.0)
    assert clock.sleeps == [11.0]


def test_a_steady_stream_never_exceeds_the_limit_in_any_rolling_window():
    clock = FakeClock(500.3)
    limiter = _limiter(clock, limit=20, max_wait=60)
    sent = []
    for _ in range(200):
        clock.now += 0.05  # the caller wants 20 requests per second
        limiter.acquire()
        sent.append(clock.now)

    assert _max_in_any_window(sent) <= 20
    # ...and it does not starve the caller either: about 20 per 11 s get through.
    assert sent[-1] - sent[0] < 200 / 20 * 11 + 11


def test_two_processes_sharing_the_cache_share_the_limit():
    clock = FakeClock(2000.0)
    worker_a = _limiter(clock, limit=10, max_wait=60)
    worker_b = _limiter(clock, limit=10, max_wait=60)
    sent = []
    for i in range(40):
        (worker_a if i % 2 else worker_b).acquire()
        sent.append(clock.now)
        clock.now += 0.1
    assert _max_in_any_window(sent) <= 10


def test_portals_are_limited_separately():
    clock = FakeClock()
    portal_a = _limiter(clock, key="4242001:1", limit=2)
    portal_b = _limiter(clock, key="4242001:2", limit=2)
    for _ in range(2):
        portal_a.acquire()
        portal_b.acquire()
    assert clock.sleeps == []


def test_gives_up_with_rate_limited_after_max_wait():
    clock = FakeClock(1000.0)
    limiter = _limiter(clock, limit=1, max_wait=5)
    limiter.acquire()

    with pytest.raises(HubSpotRateLimited) as caught:
        limiter.acquire()

    assert caught.value.retry_after == pytest.approx(11.0)
    assert clock.sleeps == []
    # The refused request gave its slot back: the window still holds exactly one.
    clock.now += 11.0
    assert limiter.acquire() == 0.0


def test_limit_zero_disables_limiting():
    clock = FakeClock()
    limiter = _limiter(clock, limit=0)
    for _ in range(1000):
        limiter.acquire()
    assert clock.sleeps == []


def test_portal_limiter_reads_the_setting(settings):
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 42
    assert portal_limiter(1, 2).limit == 42


def test_the_client_waits_instead_of_collecting_429s(connection, transport, mocked, settings):
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 3
    clock = FakeClock(3000.0)
    limiter = portal_limiter(connection.app.app_id, connection.portal_id, clock=clock, sleep=clock.sleep)
    client = HubSpotClient.for_connection(connection, transport=transport, limiter=limiter)
    url = f"{API}/conversations/v3/conversations/threads/9001"
    mocked.get(url, json=load_fixture("threads_get__open"))

    for _ in range(7):
        client.get_thread(9001)

    assert len(mocked.calls) == 7
    assert clock.sleeps == [11.0, 11.0]  # 3 now, 3 after one window, 1 after the next


@pytest.mark.redis
def test_limit_is_shared_through_redis(settings):
    settings.CACHES = {
        **django_settings.CACHES,
        "hubspot_redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.TEST_REDIS_URL,
        },
    }
    from django.core.cache import caches

    caches["hubspot_redis"].clear()
    clock = FakeClock(4000.0)
    a = _limiter(clock, key="redis-test", limit=4, cache_alias="hubspot_redis", max_wait=60)
    b = _limiter(clock, key="redis-test", limit=4, cache_alias="hubspot_redis", max_wait=60)
    sent = []
    for i in range(12):
        (a if i % 2 else b).acquire()
        sent.append(clock.now)
    caches["hubspot_redis"].clear()
    assert _max_in_any_window(sent) <= 4
    assert clock.sleeps  # they had to wait for each other


@pytest.mark.redis
def test_a_slot_on_redis_takes_one_round_trip(settings, monkeypatch):
    """Every HubSpot call (the SENT report per relayed reply among them) takes a slot: on Redis one
    command (a script), not Django's add, EXISTS + INCR and MGET (4; docs/benchmarks.md)."""
    import redis

    settings.CACHES = {
        **django_settings.CACHES,
        "hubspot_redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.TEST_REDIS_URL,
        },
    }
    from django.core.cache import caches

    caches["hubspot_redis"].clear()
    clock = FakeClock(5000.0)
    limiter = _limiter(clock, key="redis-trips", limit=2, cache_alias="hubspot_redis", max_wait=0)
    limiter.acquire()  # the script is loaded once per server
    commands: list[str] = []
    execute = redis.Redis.execute_command

    def counted(self, *args, **options):
        commands.append(str(args[0]))
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    limiter.acquire()
    assert commands == ["EVALSHA"]
    # the window is still enforced: a third request within it is refused (and gives its slot back)
    with pytest.raises(HubSpotRateLimited):
        limiter.acquire()
    monkeypatch.setattr(redis.Redis, "execute_command", execute)
    assert caches["hubspot_redis"].get(limiter._bucket_key(int(clock.now // limiter.width))) == 2
    caches["hubspot_redis"].clear()
