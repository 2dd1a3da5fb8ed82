"""A Redis db of its own for every test process, so two runs on one machine never share one.

Without TEST_REDIS_URL, each process that runs tests (each pytest-xdist worker, or pytest itself
without xdist) claims a free db of the Redis server at the default URL and keeps a connection open on
it named `hitl-test:<run id>`, for as long as it lives. A db is free when no other process holds such
a connection on it; when two processes pick the same db at once, the one Redis connected first (the
lower client id) keeps it and the other moves on. Nothing has to be cleaned up after a crash: a dead
process's connection closes and its db is free again. The db a test flushes is its own; the claim is
the open connection, not a key, so flushing does not release it.

With TEST_REDIS_URL the given db (minus the xdist worker number) is used as before, and the
process still holds the named connection, so a run without the variable steers clear of it.
"""

from __future__ import annotations

import os

import redis
from django.conf import settings

PREFIX = "hitl-test:"
# db 0 is every application's default and the bench keeps its own (bench/env.py): not claimed.
SKIPPED = {0, 10}
_held: redis.Redis | None = None


def _with_db(url: str, db: int) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"


def _others_on(conn: redis.Redis, db: int, my_id: int) -> list[int]:
    return [
        int(c["id"])
        for c in conn.client_list()
        if c.get("name", "").startswith(PREFIX) and int(c["db"]) == db and int(c["id"]) != my_id
    ]


def _hold(url: str, db: int) -> redis.Redis | None:
    """A named connection on `db` if this process may keep it, else None."""
    conn = redis.Redis.from_url(_with_db(url, db), socket_connect_timeout=1, socket_timeout=5)
    conn.client_setname(f"{PREFIX}{settings.TEST_RUN_ID}:{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    my_id = conn.client_id()
    if any(other < my_id for other in _others_on(conn, db, my_id)):
        conn.close()
        return None
    return conn


def claim_redis_db() -> None:
    """Point settings.TEST_REDIS_URL at a db this process holds (see the module docstring).

    Does nothing when Redis does not answer: the tests marked `redis` then skip (or fail under CI)
    with the default URL in their reason."""
    global _held
    if _held is not None or os.environ.get("TEST_REDIS_URL_FINAL"):
        return
    url = settings.TEST_REDIS_URL
    try:
        if settings.TEST_REDIS_EXPLICIT:
            _held = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
            _held.client_setname(f"{PREFIX}{settings.TEST_RUN_ID}:explicit")
            return
        databases = int(
            redis.Redis.from_url(url, socket_connect_timeout=1).config_get("databases")["databases"]
        )
        for db in range(databases - 1, -1, -1):
            if db in SKIPPED:
                continue
            conn = _hold(url, db)
            if conn is not None:
                _held = conn
                settings.TEST_REDIS_URL = _with_db(url, db)
                return
    except redis.RedisError:
        return
    raise RuntimeError(f"every Redis db at {url} is held by another test run; set TEST_REDIS_URL")
