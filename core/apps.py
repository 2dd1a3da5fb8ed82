from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform"

    def ready(self):
        # Connects the login signal that copies a person's time zone into their session.
        from core import preferences  # noqa: F401
