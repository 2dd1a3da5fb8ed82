"""Health endpoints for load balancers and orchestrators: `/healthz` (liveness) and `/readyz`.

Answered by a middleware at the very top of MIDDLEWARE, before SecurityMiddleware's HTTPS redirect,
sessions, CSRF and CommonMiddleware's host validation: a load balancer probes by IP (a Host header
that is not in ALLOWED_HOSTS) over plain HTTP, and must get the answer, not a 400 or a 301. Only
these two exact paths are matched; everything else goes down the normal stack.

- `/healthz`: the process serves requests. Touches nothing else, so a database outage does not
  make the orchestrator restart healthy web processes.
- `/readyz`: this process can do its work: a trivial query on the database and a short connection
  to the Celery broker (Redis or RabbitMQ). 200 with each check's result, or 503 naming the failed
  check and why. Error texts are scrubbed of credentials: the endpoint is public.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connections
from django.http import HttpResponse, JsonResponse

from core.logging import redact

PATHS = ("/healthz", "/readyz")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def _timeout() -> float:
    return float(getattr(settings, "HITL_READYZ_TIMEOUT", 2.0))


def _passwords() -> list[str]:
    found = [str(db.get("PASSWORD") or "") for db in settings.DATABASES.values()]
    from hitl_portal.celery import app

    found.append(urlsplit(str(app.conf.broker_url or "")).password or "")
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


def readiness() -> tuple[int, dict]:
    checks = {"database": check_database(), "broker": check_broker()}
    failed = [name for name, result in checks.items() if result["status"] == "error"]
    if failed:
        return 503, {"status": "unavailable", "failed": failed, "checks": checks}
    return 200, {"status": "ok", "checks": checks}


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
