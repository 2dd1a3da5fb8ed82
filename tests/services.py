"""Reachability of the real services some tests need, and the skip-or-fail rule for them.

Locally a missing PostgreSQL/Redis/Chromium skips the tests that need it, with the reason. Under
CI=true it fails them: CI must prove the real stack, not quietly skip it.
"""

import os
import shutil
import socket
from functools import cache
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

CHROMIUM = "/usr/bin/chromium"


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@cache
def redis_reachable() -> bool:
    parsed = urlparse(settings.TEST_REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def missing(marker: str) -> str | None:
    """Why a test with this marker cannot run here, or None if it can."""
    if marker == "postgres" and connection.vendor != "postgresql":
        return f"needs PostgreSQL at TEST_DATABASE_URL ({settings.TEST_DATABASE_URL}); running on SQLite"
    if marker == "redis" and not redis_reachable():
        return f"needs Redis at TEST_REDIS_URL ({settings.TEST_REDIS_URL})"
    if marker == "browser":
        if not shutil.which(CHROMIUM):
            return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        try:
            import playwright  # noqa: F401
        except ImportError:
            return "needs playwright (pip install -r requirements-dev.txt)"
    return None


def require(item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing(marker)
        if reason is None:
            continue
        if is_ci():
            pytest.fail(f"CI=true but this test {reason}", pytrace=False)
        pytest.skip(reason)
