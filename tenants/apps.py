from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from tenants import membership  # noqa: F401  (connects the post_delete receiver)
