"""Celery application, configured from Django settings (`CELERY_*` namespace)."""

from celery import Celery
from celery.signals import setup_logging, worker_init

from hitl_portal.env import use_default_settings

use_default_settings()

app = Celery("hitl_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")


@setup_logging.connect
def _configure_logging(*args, **kwargs) -> None:
    # Django's LOGGING (JSON in production, the secret-redacting filter) instead of Celery's own
    # handlers, for the worker and beat alike.
    from django.conf import settings

    from core.logging import configure

    configure(settings.LOGGING)


app.autodiscover_tasks()


@worker_init.connect
def _register_control_commands(**kwargs) -> None:
    # The worker answers `hitl_key_fingerprints` (rotate_encryption_keys asks before re-encrypting).
    import core.key_check  # noqa: F401
