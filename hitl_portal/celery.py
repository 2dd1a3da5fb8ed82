"""Celery application, configured from Django settings (`CELERY_*` namespace)."""

from logging.config import dictConfig

from celery import Celery
from celery.signals import setup_logging

from hitl_portal.env import use_default_settings

use_default_settings()

app = Celery("hitl_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")


@setup_logging.connect
def _configure_logging(*args, **kwargs) -> None:
    # Use Django's LOGGING (with its secret-redacting filter) instead of Celery's own handlers.
    from django.conf import settings

    dictConfig(settings.LOGGING)


app.autodiscover_tasks()
