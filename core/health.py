"""Health endpoints for load balancers and orchestrators: `/healthz` (liveness) and `/readyz`.

Answered by a middleware at the very top of MIDDLEWARE, before SecurityMiddleware's HTTPS redirect,
sessions, CSRF and CommonMiddleware's host validation: a load balancer probes by IP (a Host header
that is not in ALLOWED_HOSTS) over plain HTTP, and must get the answer, not a 400 or a 301. Only
these two exact paths are matched; everything else goes down the normal stack.

- `/healthz`: the process serves requests. Touches nothing else, so a database outage does not
  make the orchestrator restart healthy web processes.
- `/readyz`: this process can do its work: a trivial query on the database, a short connection
  to the Celery broker (Redis or RabbitMQ), a write and read on the shared cache (CACHE_URL), and
  the profile it runs is the one intended (a local profile in an environment that names public
  hosts was meant to be production). 200 with each check's result, or 503 naming the failed check
  and why. Error texts are scrubbed of credentials: the endpoint is public. It also reports the
  profile and the fingerprints of the encryption keys this process holds (never the keys), which
  `rotate_encryption_keys` reads before re-encrypting.
"""

from __future__ import annotations

import os
import re
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpResponse, JsonResponse

from core.crypto import fingerprints
from core.logging import redact
from hitl_portal import env

PATHS = ("/healthz", "/readyz")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def _timeout() -> float:
    return float(getattr(settings, "HITL_READYZ_TIMEOUT", 2.0))


def _passwords() -> list[str]:
    found = [str(db.get("PASSWORD") or "") for db in settings.DATABASES.values()]
    from hitl_portal.celery import app

    found.append(urlsplit(str(app.conf.broker_url or "")).password or "")
    for cache in settings.CACHES.values():
        location = cache.get("LOCATION")
        if isinstance(location, str):
            found.append(urlsplit(location).password or "")
    return [p for p in found if p]


def scrub(text: str) -> str:
    """An error text fit for a public endpoint: no user:password@ in URLs, no known passwords."""
    text = _URL_CREDENTIALS.sub(r"\1***@", redact(text))
    for password in _passwords():
        text = text.replace(password, "***")
    return text[:300]


def _failure(exc: Exception, started: float, **extra) -> dict:
    message = scrub(f"{type(exc).__name__}: {exc}".strip().rstrip(":"))
    return {"status": "error", **extra, "error": message, "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def check_database() -> dict:
    started = time.monotonic()
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        # A broken persistent connection must not be reused by the next request of this worker.
        connections["default"].close_if_unusable_or_obsolete()
        return _failure(exc, started)
    return {"status": "ok", "ms": _ms(started)}


def check_broker() -> dict:
    from hitl_portal.celery import app

    if app.conf.task_always_eager:
        # Embedded install: tasks run in the web process, there is no broker to wait for.
        return {"status": "not configured"}
    timeout = _timeout()
    transport = urlsplit(str(app.conf.broker_url)).scheme or "unknown"
    started = time.monotonic()
    try:
        # The app's own connection settings (TLS, transport options), with short timeouts and a
        # single attempt. Redis answers a PING on connect; AMQP completes its handshake (and the
        # vhost login), so a wrong vhost or password fails here too.
        with app.connection_for_write(
            connect_timeout=timeout,
            transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
            conn.default_channel  # noqa: B018 - opening a channel proves the broker serves us
    except Exception as exc:
        return _failure(exc, started, transport=transport)
    return {"status": "ok", "transport": transport, "ms": _ms(started)}


def check_cache() -> dict:
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    if backend in ("LocMemCache", "DummyCache"):
        # One process's own memory: nothing to wait for (and nothing shared between processes).
        return {"status": "not configured", "backend": backend}
    key = f"hitl:readyz:{os.getpid()}"
    started = time.monotonic()
    try:
        cache = caches["default"]
        cache.set(key, "1", timeout=30)
        if cache.get(key) != "1":
            raise RuntimeError("a value written was not read back")
    except Exception as exc:
        return _failure(exc, started, backend=backend)
    return {"status": "ok", "backend": backend, "ms": _ms(started)}


def check_profile() -> dict:
    """A process that fell back to the local profile where production was meant must not be
    routed traffic: DJANGO_ENV unset, yet the environment names public hosts."""
    name = env.profile()
    markers = env.production_markers()
    if name == "local" and not os.environ.get("DJANGO_ENV") and markers:
        return {
            "status": "error",
            "profile": name,
            "error": f"DJANGO_ENV is unset but {'; '.join(markers)}: set DJANGO_ENV=production "
            "in the env file (or DJANGO_ENV=local to run the local profile on purpose).",
        }
    return {"status": "ok", "profile": name}


def readiness() -> tuple[int, dict]:
    checks = {
        "profile": check_profile(),
        "database": check_database(),
        "broker": check_broker(),
        "cache": check_cache(),
    }
    failed = [name for name, result in checks.items() if result["status"] == "error"]
    body = {
        "status": "unavailable" if failed else "ok",
        "profile": checks["profile"]["profile"],
        "encryption_keys": fingerprints(),
        "pid": os.getpid(),
    }
    if failed:
        body["failed"] = failed
    body["checks"] = checks
    return (503 if failed else 200), body


def _respond(request, status: int, body: dict) -> HttpResponse:
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type="application/json")
    else:
        response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers `/healthz` and `/readyz` (GET, HEAD) before anything else in the stack runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse(
                {"error": "method_not_allowed", "message": f"Use GET or HEAD on {request.path_info}."},
                status=405,
            )
            response["Allow"] = "GET, HEAD"
            return response
        if request.path_info == "/healthz":
            return _respond(request, 200, {"status": "ok"})
        return _respond(request, *readiness())
