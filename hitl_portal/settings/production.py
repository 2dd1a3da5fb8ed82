"""Production profile: PostgreSQL, Redis broker, HTTPS. Refuses to start with unsafe settings."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    CELERY_TASK_ALWAYS_EAGER,
    DATABASES,
    FIELD_ENCRYPTION_KEYS,
    MIDDLEWARE,
    PUBLIC_BASE_URL,
    env,
)

SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _problems() -> list[str]:
    problems = []
    if DEBUG:
        problems.append("DJANGO_DEBUG must be off in production")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if not FIELD_ENCRYPTION_KEYS:
        problems.append("FIELD_ENCRYPTION_KEYS must be set (generate one: manage.py generate_encryption_key)")
    if not env.str("DATABASE_URL", default=""):
        problems.append("DATABASE_URL must be set (PostgreSQL)")
    if CELERY_TASK_ALWAYS_EAGER:
        problems.append("CELERY_BROKER_URL must be set (Redis or RabbitMQ)")
    if not env.str("ALLOWED_HOSTS", default=""):
        problems.append("ALLOWED_HOSTS must be set")
    if not PUBLIC_BASE_URL.startswith("https://") and not env.bool("ALLOW_HTTP", default=False):
        problems.append("PUBLIC_BASE_URL must be an https:// origin (HubSpot only calls HTTPS)")
    return problems


if _problems():
    raise ImproperlyConfigured("Unsafe production settings: " + "; ".join(_problems()))

DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# SECURITY (https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/)
# ------------------------------------------------------------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Static files straight from the app server, compressed and cache-busted (no separate web server).
# WhiteNoise goes right after SecurityMiddleware (its docs), i.e. below the health middleware.
_at = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [*MIDDLEWARE[:_at], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[_at:]]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
