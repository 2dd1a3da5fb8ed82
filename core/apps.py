from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        # checks registers the observability system checks; request_id connects the Celery signals
        # that carry a request's id into its tasks; error_reporting turns Sentry on when
        # SENTRY_DSN is set (web and worker processes alike); preferences connects the login
        # signal that copies a person's time zone into their session; two_factor connects the one
        # that notes whether the person has a second factor to use.
        from core import checks, error_reporting, preferences, request_id, two_factor  # noqa: F401

        error_reporting.setup()
