"""`GET /metrics`: Prometheus text format, for the host's Prometheus (never for tenants).

Off unless `METRICS_TOKEN` is set (then 404, as if the URL did not exist); with it, the scraper
sends `Authorization: Bearer <METRICS_TOKEN>` (Prometheus: `authorization: {credentials: ...}`) and
anything else gets 401. The answer adds up the counters of every process of the host when
`PROMETHEUS_MULTIPROC_DIR` is set (see `core.metrics`), and adds the gauges read now from the
database and the broker (`StateCollector`).
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core import health

logger = logging.getLogger(__name__)

# kombu's Redis transport spreads a queue over these lists (its default priority steps).
_REDIS_PRIORITY_SEP = "\x06\x16"
_REDIS_PRIORITY_STEPS = (0, 3, 6, 9)


class StateCollector:
    """Gauges computed at scrape time, so every process answers the same figures."""

    NAMES = (
        "hitl_escalations_active",
        "hitl_callbacks_pending",
        "hitl_callbacks_failed",
        "hitl_webhook_events_pending",
        "hitl_webhook_oldest_pending_seconds",
        "hitl_celery_queue_depth",
        "hitl_ready",
    )

    def describe(self):
        # Registering must not query the database: the registry calls describe(), not collect().
        for name in self.NAMES:
            yield GaugeMetricFamily(name, name)

    def collect(self):
        yield from self._escalations()
        yield from self._callbacks()
        yield from self._webhooks()
        yield from self._queues()
        yield from self._readiness()

    def _escalations(self):
        from conversations.models import Escalation, EscalationStatus

        gauge = GaugeMetricFamily(
            "hitl_escalations_active", "Escalations not finished, by status, now.", labels=["status"]
        )
        active = (EscalationStatus.REQUESTED, EscalationStatus.OPEN, EscalationStatus.ASSIGNED)
        counts = dict(
            Escalation.objects.filter(status__in=active)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in active:
            gauge.add_metric([str(status)], counts.get(status, 0))
        yield gauge

    def _callbacks(self):
        from conversations.models import DeliveryStatus, EscalationEvent

        counts = dict(
            EscalationEvent.objects.filter(
                delivery_status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED)
            )
            .values_list("delivery_status")
            .annotate(n=Count("pk"))
            .values_list("delivery_status", "n")
        )
        yield GaugeMetricFamily(
            "hitl_callbacks_pending", "Events waiting to reach their bot, now.", counts.get("pending", 0)
        )
        yield GaugeMetricFamily(
            "hitl_callbacks_failed",
            "Events given up and not retried since (admin: Callback deliveries), now.",
            counts.get("failed", 0),
        )

    def _webhooks(self):
        from conversations.models import HubSpotEvent

        pending = HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).aggregate(
            n=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "hitl_webhook_events_pending", "HubSpot events stored, not processed yet.", pending["n"]
        )
        age = (timezone.now() - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0
        yield GaugeMetricFamily(
            "hitl_webhook_oldest_pending_seconds", "Age of the oldest unprocessed HubSpot event.", age
        )

    def _queues(self):
        from hitl_portal.celery import app

        if app.conf.task_always_eager:
            return  # embedded install: no broker, no queue
        gauge = GaugeMetricFamily(
            "hitl_celery_queue_depth", "Tasks waiting in the broker's queue.", labels=["queue"]
        )
        try:
            for name, depth in queue_depths(app).items():
                gauge.add_metric([name], depth)
        except Exception as exc:  # the broker being down is what hitl_ready{check="broker"} says
            logger.warning("metrics: queue depth unavailable: %s", health.scrub(str(exc)))
            return
        yield gauge

    def _readiness(self):
        gauge = GaugeMetricFamily(
            "hitl_ready", "1 when the check of /readyz passes from this process, else 0.", labels=["check"]
        )
        gauge.add_metric(["database"], 1 if health.check_database()["status"] == "ok" else 0)
        gauge.add_metric(["broker"], 0 if health.check_broker()["status"] == "error" else 1)
        yield gauge


def queue_names(app) -> list[str]:
    names = {app.conf.task_default_queue or "celery"}
    for route in (app.conf.task_routes or {}).values() if isinstance(app.conf.task_routes, dict) else ():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


def queue_depths(app) -> dict[str, int]:
    timeout = float(getattr(settings, "HITL_READYZ_TIMEOUT", 2.0))
    depths = {}
    with app.connection_for_write(
        connect_timeout=timeout,
        transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    ) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        channel = conn.default_channel
        is_redis = conn.transport.driver_type == "redis"
        for name in queue_names(app):
            if is_redis:
                lists = [name] + [f"{name}{_REDIS_PRIORITY_SEP}{step}" for step in _REDIS_PRIORITY_STEPS[1:]]
                depths[name] = sum(channel.client.llen(key) for key in lists)
            else:
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except Exception:
                    depths[name] = 0  # not declared yet: no worker ever consumed it, nothing queued
                    channel = conn.channel()  # a failed passive declare closes the AMQP channel
    return depths


def _authorised(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def registry() -> CollectorRegistry:
    """What one scrape reads: every process's counters (multiprocess mode) or this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
    else:
        combined = REGISTRY
    return combined


@never_cache
@require_GET
def metrics(request):
    if not settings.METRICS_TOKEN:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not _authorised(request):
        response = HttpResponse("A bearer token (METRICS_TOKEN) is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain"
        return response
    started = time.monotonic()
    state = CollectorRegistry()
    state.register(StateCollector())
    body = generate_latest(registry()) + generate_latest(state)
    logger.debug("metrics scraped in %.0f ms", (time.monotonic() - started) * 1000)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
