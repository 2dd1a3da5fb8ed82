"""Django system checks of the observability settings (`manage.py check --deploy` shows them)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def metrics_processes(app_configs=None, **kwargs) -> list:
    """/metrics behind gunicorn without a shared directory counts one worker's share only."""
    if settings.METRICS_TOKEN and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return [
            Warning(
                "METRICS_TOKEN is set but PROMETHEUS_MULTIPROC_DIR is not: each scrape of /metrics "
                "shows the counters of whichever web process answers, none of the workers'.",
                hint="Set PROMETHEUS_MULTIPROC_DIR to a directory shared by the host's web and worker "
                "processes, emptied when they start (docs/operations.md).",
                id="hitl.W001",
            )
        ]
    if settings.METRICS_TOKEN and len(settings.METRICS_TOKEN) < 16:
        return [
            Warning(
                "METRICS_TOKEN is shorter than 16 characters.",
                hint="A long random value: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
                id="hitl.W002",
            )
        ]
    return []
