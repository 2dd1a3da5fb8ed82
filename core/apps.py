from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Connects the Celery signals that carry a request's id into the tasks it queues.
        # SENTRY_DSN: error reporting, set up once the settings are loaded.
        from core import (
            error_reporting,
            request_id,  # noqa: F401
        )

        error_reporting.setup()
