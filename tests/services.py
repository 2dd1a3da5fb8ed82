"""Reachability of the real services some tests need, and the skip-or-fail rule for them.

Locally a missing PostgreSQL/Redis/RabbitMQ/Chromium skips the tests that need it, with the reason. Under
CI=true it fails them: CI must prove the real stack, not quietly skip it.
"""

import os
import shutil
import socket
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

CHROMIUM = "/usr/bin/chromium"
# axe-core, installed by `npm ci` (package.json; `make test` and .ci/run do it).
AXE_JS = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


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


@cache
def rabbitmq_problem() -> str | None:
    """None when TEST_RABBITMQ_URL accepts an AMQP login (its vhost must exist), else why not."""
    from kombu import Connection

    try:
        with Connection(settings.TEST_RABBITMQ_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=0, timeout=3)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def missing(marker: str) -> str | None:
    """Why a test with this marker cannot run here, or None if it can."""
    if marker == "postgres" and connection.vendor != "postgresql":
        return f"needs PostgreSQL at TEST_DATABASE_URL ({settings.TEST_DATABASE_URL}); running on SQLite"
    if marker == "redis" and not redis_reachable():
        return f"needs Redis at TEST_REDIS_URL ({settings.TEST_REDIS_URL})"
    if marker == "rabbitmq" and rabbitmq_problem():
        url = settings.TEST_RABBITMQ_URL
        vhost = url.rsplit("/", 1)[-1] or "/"
        return (
            f"needs RabbitMQ at TEST_RABBITMQ_URL ({url.split('@')[-1]}): {rabbitmq_problem()}; start it "
            f"(rabbitmq-server -detached) and create the vhost (rabbitmqctl add_vhost {vhost} && "
            f'rabbitmqctl set_permissions -p {vhost} guest ".*" ".*" ".*")'
        )
    if marker == "browser":
        if not shutil.which(CHROMIUM):
            return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        try:
            import playwright  # noqa: F401
        except ImportError:
            return "needs playwright (pip install -r requirements-dev.txt)"
    if marker == "axe" and not AXE_JS.is_file():
        return f"needs axe-core at {AXE_JS} (npm ci, from package.json)"
    return None


def unavailable(reason: str) -> None:
    """Skip the running test with `reason`, or fail it under CI=true (where everything must run)."""
    if is_ci():
        pytest.fail(f"CI=true but this test {reason}", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, install: str) -> str:
    """The path of the command-line tool `name`; without it the test skips (fails under CI) saying
    how to install it."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"needs {name} on PATH ({install})")
    return found


def require(item) -> None:
    for marker in ("postgres", "redis", "rabbitmq", "browser", "axe"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing(marker)
        if reason is None:
            continue
        unavailable(reason)
