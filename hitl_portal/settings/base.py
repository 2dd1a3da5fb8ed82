"""Settings shared by every profile. 12-factor: everything that differs between deploys comes from
the environment through django-environ (https://django-environ.readthedocs.io/).

Profiles: `local` (default; SQLite, eager tasks), `test`, `production` (refuses unsafe settings).
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ

from hitl_portal.env import log_format

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# The embedded install's files: SQLite database, development secrets, demo login, sandbox credentials.
VAR_DIR = Path(env.str("HITL_VAR_DIR", default=str(BASE_DIR / "var")))
# The env file (.env or ENV_FILE) was read into the environment before this module loaded, by
# whichever entry point started the process (hitl_portal/env.py).

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# The public origin HubSpot and browsers use. Webhook signatures and OAuth redirect URIs are built
# from it, never from request headers, which a proxy or an attacker can rewrite.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "hitl_portal.urls"
WSGI_APPLICATION = "hitl_portal.wsgi.application"

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    # The admin's theme (sidebar, dashboard, styled forms and lists): before django.contrib.admin so
    # its templates win and its app config makes the default admin site an UnfoldAdminSite.
    "unfold",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    # Failed-login throttling (per user name and per address), with its attempts in the admin.
    "axes",
    # Second factor for staff sign-ins: TOTP authenticator apps (core/two_factor.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Passkeys (WebAuthn) as a second factor beside TOTP (core/two_factor.py, core/passkeys.py).
    "django_otp_webauthn",
    "core",
    "tenants",
    "connections",
    "conversations",
    # Always installed (its tables exist everywhere); its URLs are mounted only when HUBSPOT_SANDBOX.
    "sandbox",
]

MIDDLEWARE = [
    # /healthz and /readyz, answered before the HTTPS redirect and host validation (load balancers
    # probe by IP over plain HTTP): core/health.py.
    "core.health.HealthCheckMiddleware",
    # X-Request-ID accepted or made, in logs, tasks, the timeline and callbacks: core/request_id.py.
    "core.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # NUL or unencodable text in a query string: a 400 before any view builds a query from it.
    "core.hostile_input.RejectNulQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a second factor in this session.
    "django_otp.middleware.OTPMiddleware",
    # Sends people who must use a second factor, and have not in this session, to enrol or verify.
    "core.two_factor.RequireTwoFactorMiddleware",
    # Each person's time zone, from their session (core/preferences.py).
    "core.preferences.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A bare 405 (a POST-only URL opened in a browser) becomes a page that says what to do.
    "core.error_pages.MethodNotAllowedPageMiddleware",
    # A filter value a page refused (a date out of range): a 400 page naming it, with ways on.
    "core.error_pages.BadQueryParameterMiddleware",
    # JSON 503 for undecryptable secrets, JSON 500 under /api/ (core/errors.py).
    "core.errors.JsonErrorMiddleware",
    # Content-Security-Policy on every response (policy under CONTENT SECURITY POLICY below).
    "csp.middleware.CSPMiddleware",
    # Last, as its docs ask: turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # {{ csp_nonce }} (and django-csp's {{ CSP_NONCE }}) for the pages' own <script> tags.
                "core.csp.nonce",
            ],
        },
    },
]

# ADMIN THEME (django-unfold)
# ------------------------------------------------------------------------------
# The sidebar is the admin's own grouped app list (core/admin_nav.py: Escalations, Connections,
# Organisation, Developer tools, each entry only for those its ModelAdmin lets in); the index is
# the role home page (core/admin_home.py). Colours: a blue primary whose 600 shade keeps 4.5:1
# contrast on white for links and buttons (axe checks it, tests/e2e/test_accessibility.py).
from django.urls import reverse_lazy  # noqa: E402

UNFOLD = {
    "SITE_TITLE": "HITL portal",
    "SITE_HEADER": "HubSpot HITL portal",
    "SITE_SUBHEADER": "Chatbot to agent hand-off",
    "SITE_URL": "/admin/",
    "SITE_SYMBOL": "support_agent",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": True,
    "SHOW_BACK_BUTTON": False,
    "BORDER_RADIUS": "6px",
    "COLORS": {
        "primary": {
            "50": "oklch(97% .014 254.604)",
            "100": "oklch(93.2% .032 255.585)",
            "200": "oklch(88.2% .059 254.128)",
            "300": "oklch(80.9% .105 251.813)",
            "400": "oklch(70.7% .165 254.624)",
            "500": "oklch(62.3% .214 259.815)",
            "600": "oklch(54.6% .245 262.881)",
            "700": "oklch(48.8% .243 264.376)",
            "800": "oklch(42.4% .199 265.638)",
            "900": "oklch(37.9% .146 265.522)",
            "950": "oklch(28.2% .091 267.935)",
        },
    },
    "DASHBOARD_CALLBACK": "core.admin_home.dashboard",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "core.admin_nav.sidebar",
    },
    "ACCOUNT": {
        "navigation": [
            {"title": "Your settings (time zone)", "link": reverse_lazy("admin:preferences")},
            {"title": "Two-factor sign-in", "link": reverse_lazy("two-factor")},
        ],
    },
}

# CONTENT SECURITY POLICY (django-csp)
# ------------------------------------------------------------------------------
# Scripts only from our own origin or with this response's nonce: an injected inline <script> or
# event-handler attribute does not run. Pages keep their JavaScript in static files; an inline
# script must carry nonce="{{ csp_nonce }}". Styles may be inline (Django's admin and its themes
# write style attributes, which no nonce can cover). An admin theme built on Alpine.js
# (django-unfold) evaluates its x-data expressions with Function(), so with it installed
# 'unsafe-eval' is added to script-src; injected inline scripts stay blocked either way.
from csp.constants import NONCE, NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE  # noqa: E402

_ALPINE_ADMIN = "unfold" in INSTALLED_APPS
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, *([UNSAFE_EVAL] if _ALPINE_ADMIN else [])],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}

# DATABASE
# ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded install serves the portal and its sandbox from one process: the portal may read
    # inside a transaction (a token refresh under select_for_update) while calling the sandbox over
    # HTTP, which then writes. WAL lets that writer commit beside an open reader instead of timing
    # out on the lock; the timeout covers writer-vs-writer waits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )

# PASSWORDS / AUTH
# ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user name or address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Every login form (the admin's is the only one) is throttled by django-axes: after
# AXES_FAILURE_LIMIT failures for one user name, or from one address, further attempts are refused
# for AXES_COOLOFF_TIME hours, or until an admin deletes the attempt under Axes → Access attempts.
# Superusers must sign in with a second factor (always on in the production profile); tenant admins
# can require it for their organisation's members (Tenant.require_two_factor).
HITL_SUPERUSER_TWO_FACTOR = env.bool("HITL_SUPERUSER_TWO_FACTOR", default=False)
OTP_TOTP_ISSUER = "HITL portal"
# Passkeys are a second factor only: after the password, never instead of it (a passwordless
# sign-in would also step around django-axes' throttling of the login form).
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "HITL portal"
# The relying party ID is the portal's host name (browsers refuse an IP address, so a loopback
# PUBLIC_BASE_URL means "localhost"); a passkey works on that host and its subdomains only, and
# changing it later orphans every registered passkey. Allowed origins: the PUBLIC_BASE_URL origin
# plus PASSKEY_ORIGINS (other https:// origins under the same host, e.g. a second domain name in
# ALLOWED_HOSTS that is a subdomain of the RP ID).
_public = urlsplit(PUBLIC_BASE_URL)
_public_host = _public.hostname or "localhost"
_loopback_host = _public_host in ("127.0.0.1", "::1")
OTP_WEBAUTHN_RP_ID = env.str("PASSKEY_RP_ID", default="localhost" if _loopback_host else _public_host)
OTP_WEBAUTHN_ALLOWED_ORIGINS = [
    f"{_public.scheme}://localhost{f':{_public.port}' if _public.port else ''}"
    if _loopback_host
    else PUBLIC_BASE_URL,
    *env.list("PASSKEY_ORIGINS", default=[]),
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_TIME", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "axes/locked_out.html"
# Not verbose: no start-up line per process; a sign-in's log lines name only what locks out.
AXES_VERBOSE = False
# Behind N trusted proxies (HITL_TRUSTED_PROXY_COUNT), the client is the Nth X-Forwarded-For hop
# from the right: core/logins.py.
HITL_TRUSTED_PROXY_COUNT = env.int("HITL_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.logins.client_ip"

# STATIC
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
# `collectstatic` writes here; whitenoise serves it in production (settings/production.py).
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# SECRETS AT REST
# ------------------------------------------------------------------------------
# Fernet keys, newest first. Values are encrypted with the first and decrypted with any, so a key
# is rotated by prepending a new one, running `manage.py rotate_encryption_keys`, then dropping the
# old one. Generate a key: `python manage.py generate_encryption_key`.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# CELERY (https://docs.celeryq.dev/en/stable/userguide/configuration.html)
# ------------------------------------------------------------------------------
# No broker configured means an embedded install: tasks run in-process, right after commit.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager calls still take a producer from kombu's pool, which warns on a URL without a host.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Every task is idempotent, so it is acknowledged only after it ran and is redelivered if the
# worker dies mid-task (docs: userguide/tasks.rst "acks_late", configuration.rst).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Task processes per worker (the Procfile, systemd unit and compose file all start workers without
# --concurrency, so this one setting sizes them).
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
# Either broker works (docs: getting-started/backends-and-brokers):
# - Redis redelivers unacked messages after the visibility timeout;
# - RabbitMQ redelivers them when the worker's connection drops, and closes the channel of a worker
#   holding one longer than its consumer_timeout (30 min by default), countdowns included.
# So task time limits (above) and retry countdowns (at most 25 min) stay below both.
# confirm_publish (RabbitMQ only; Redis ignores it): a publish returns once the broker has the
# message, so an accepted webhook's processing task cannot vanish in a broker crash.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "confirm_publish": True}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# django_celery_beat's DatabaseScheduler, which beat can stop while it starts (core/beat.py).
CELERY_BEAT_SCHEDULER = "core.beat:DatabaseScheduler"

# LOGGING
# ------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = log_format()  # "json" (default in production) or "text"; gunicorn.conf.py uses the same
LOGGING_CONFIG = "core.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "core.logging.RedactSecretsFilter"},
        "request_id": {"()": "core.request_id.RequestIdFilter"},
        "axes_success_at_debug": {"()": "core.logging.AxesSuccessAtDebug"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        },
        # The development server's access log (runserver): Django's own handler for it has no
        # filter, and the request line carries the query string (?code=&state= of OAuth).
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own defaults give "django" an unfiltered console handler of its own (when DEBUG):
        # without this, each of its records came out twice, once unredacted.
        "django": {"handlers": [], "level": LOG_LEVEL},
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "axes.handlers.database": {"filters": ["axes_success_at_debug"]},
    },
}

# REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    # One error shape for bots: {"error": code, "message": text, ...} (conversations/api/errors.py).
    "EXCEPTION_HANDLER": "conversations.api.errors.handle_exception",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HubSpot HITL portal API",
    "DESCRIPTION": "Hand chatbot conversations to live agents in a HubSpot Inbox.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# HUBSPOT
# ------------------------------------------------------------------------------
# The built-in HubSpot sandbox (sandbox/) is mounted under /sandbox/ when on. With it on and no
# explicit bases, the portal talks to its own sandbox over HTTP, exactly as it would to HubSpot.
HUBSPOT_SANDBOX = env.bool("HUBSPOT_SANDBOX", default=False)
_sandbox_origin = f"{PUBLIC_BASE_URL}/sandbox"
HUBSPOT_API_BASE = env.str(
    "HUBSPOT_API_BASE", default=f"{_sandbox_origin}/api" if HUBSPOT_SANDBOX else "https://api.hubapi.com"
).rstrip("/")
HUBSPOT_APP_BASE = env.str(
    "HUBSPOT_APP_BASE", default=f"{_sandbox_origin}/app" if HUBSPOT_SANDBOX else "https://app.hubspot.com"
).rstrip("/")
# Where HubSpot publishes both, which endpoint family the client calls: "2026-03" or "v3".
HUBSPOT_API_VERSION = env.str("HUBSPOT_API_VERSION", default="2026-03")
HUBSPOT_CONNECT_TIMEOUT = env.float("HUBSPOT_CONNECT_TIMEOUT", default=5.0)
HUBSPOT_READ_TIMEOUT = env.float("HUBSPOT_READ_TIMEOUT", default=20.0)
HUBSPOT_MAX_RETRIES = env.int("HUBSPOT_MAX_RETRIES", default=4)
# The longest a task's HubSpot call sleeps between its retries in the worker; a longer wait is the
# task's own countdown (connections.hubspot.Transport.for_task).
HUBSPOT_TASK_MAX_SLEEP_SECONDS = env.float("HUBSPOT_TASK_MAX_SLEEP_SECONDS", default=0.5)
# HubSpot allows OAuth apps 100 requests per 10 s per portal; we stay under it with a margin.
HUBSPOT_RATE_LIMIT_PER_10S = env.int("HUBSPOT_RATE_LIMIT_PER_10S", default=90)
# Refresh access tokens this long before they expire, not after a 401.
HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS = env.int("HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS", default=300)

# CACHE (shared rate-limit windows across processes when Redis is configured)
# ------------------------------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if "redis" in CACHES["default"]["BACKEND"].lower():
    # A dead cache fails a rate-limit check or /readyz within seconds instead of hanging a request.
    _timeout = env.float("CACHE_TIMEOUT", default=2.0)
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("socket_connect_timeout", _timeout)
    CACHES["default"]["OPTIONS"].setdefault("socket_timeout", _timeout)

# BOT API
# ------------------------------------------------------------------------------
# Per bot API key, counted in CACHES["default"] (Redis in production, shared by all web workers):
# every request, and starting escalations (each looks up a contact and opens a thread at HubSpot).
# "<n>/<second|minute|hour|day>", or "off". Over it: 429 rate_limited with Retry-After.
HITL_BOT_API_RATE_LIMIT = env.str("HITL_BOT_API_RATE_LIMIT", default="600/min")
HITL_BOT_API_START_RATE_LIMIT = env.str("HITL_BOT_API_START_RATE_LIMIT", default="60/min")
# Callback and attachment URLs resolving to private/loopback/link-local addresses (and plain http)
# are refused unless this is on. Off here and in production; on in the local and test profiles.
HITL_ALLOW_PRIVATE_CALLBACKS = env.bool("HITL_ALLOW_PRIVATE_CALLBACKS", default=False)
# Attachments the bot sends to the agent: per-file and per-message caps, count, allowed types
# (patterns like image/* work). Defaults match the custom channel's declared file limits.
HITL_ATTACHMENT_MAX_BYTES = env.int("HITL_ATTACHMENT_MAX_BYTES", default=10_000_000)
HITL_ATTACHMENT_MAX_TOTAL_BYTES = env.int("HITL_ATTACHMENT_MAX_TOTAL_BYTES", default=25_000_000)
HITL_ATTACHMENT_MAX_COUNT = env.int("HITL_ATTACHMENT_MAX_COUNT", default=5)
HITL_ATTACHMENT_ALLOWED_TYPES = env.list(
    "HITL_ATTACHMENT_ALLOWED_TYPES",
    default=[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/csv",
    ],
)
HITL_ATTACHMENT_FETCH_TIMEOUT = env.float("HITL_ATTACHMENT_FETCH_TIMEOUT", default=10.0)

# EVENTS TO THE BOT (signed callbacks; conversations/callbacks.py, conversations/delivery.py)
# ------------------------------------------------------------------------------
# A bot that takes longer than this to answer is treated as a failed attempt and retried; short, so
# one slow bot cannot tie up the workers (Chatwoot's 5 s limit is too tight, Genesys allows 10 s).
HITL_CALLBACK_CONNECT_TIMEOUT = env.float("HITL_CALLBACK_CONNECT_TIMEOUT", default=3.0)
HITL_CALLBACK_READ_TIMEOUT = env.float("HITL_CALLBACK_READ_TIMEOUT", default=10.0)
# Seconds between attempts after the 1st, 2nd, ... failure (jittered); the last repeats.
HITL_CALLBACK_RETRY_SCHEDULE = [
    int(s) for s in env.list("HITL_CALLBACK_RETRY_SCHEDULE", default=["10", "30", "60", "300", "900", "3600"])
]
# An event keeps being retried at least this long after it was created; then it is given up.
HITL_CALLBACK_MAX_AGE_HOURS = max(env.int("HITL_CALLBACK_MAX_AGE_HOURS", default=24), 24)
# A delivery attempt claims its event for this long, renewed every third of it while the POST runs
# (conversations/delivery.py): the event of a worker killed mid-POST is due again this long after
# the kill at most, and the callbacks sweep below sends it then.
HITL_CALLBACK_CLAIM_LEASE_SECONDS = env.int("HITL_CALLBACK_CLAIM_LEASE_SECONDS", default=6)
# How often beat runs the callbacks sweep (due retries, expired claims): one indexed query. With the
# lease above, a callback cut off by a lost worker is sent again within lease + this (11 s).
HITL_CALLBACK_SWEEP_SECONDS = env.float("HITL_CALLBACK_SWEEP_SECONDS", default=5.0)
# Work whose task was lost (its worker killed, the broker down at enqueue time or restarted without
# its data) is re-enqueued by the sweeps below once it has waited this long untouched: callbacks
# never attempted, stored HubSpot webhook events never processed, the bot's messages not yet
# published, and HubSpot thread closes still owed after the bot closed.
HITL_SWEEP_GRACE_SECONDS = env.int("HITL_SWEEP_GRACE_SECONDS", default=30)
# How often SLA thresholds are checked: a breach is seen at most this late.
HITL_SLA_SWEEP_SECONDS = env.float("HITL_SLA_SWEEP_SECONDS", default=30.0)
# escalation.queue_updated (conversations/queue_updates.py): at most one per escalation in this
# many seconds (the opened event counts), and how often beat re-checks every waiting escalation
# (the estimate moves with the time waited; a change held back by the rate goes out then).
HITL_QUEUE_UPDATE_MIN_SECONDS = env.int("HITL_QUEUE_UPDATE_MIN_SECONDS", default=30)
HITL_QUEUE_SWEEP_SECONDS = env.float("HITL_QUEUE_SWEEP_SECONDS", default=30.0)
# Webhook requests publish one drain of pending events at a time (conversations/webhooks/wakeup.py):
# the flag saying one is pending expires after this long, so a lost drain stops coalescing soon.
HITL_WEBHOOK_WAKEUP_TTL_SECONDS = env.int("HITL_WEBHOOK_WAKEUP_TTL_SECONDS", default=5)
# A web process that has seen the flag set does not ask again for this long; a drain ending claims
# once more this long after its last clear, so what those requests stored is never left behind.
HITL_WEBHOOK_WAKEUP_MEMO_SECONDS = env.float("HITL_WEBHOOK_WAKEUP_MEMO_SECONDS", default=0.05)
# A task processing stored webhook events holds them for this long, renewed every third of it while
# it runs (conversations/webhooks/claims.py): the events of a worker that died mid-batch are taken
# back by the lost-event sweep this long after the death at most, and never while their batch runs.
HITL_WEBHOOK_CLAIM_LEASE_SECONDS = env.int("HITL_WEBHOOK_CLAIM_LEASE_SECONDS", default=15)
# Events a drain claims and processes per transaction-sized step (their callbacks go out after each).
HITL_WEBHOOK_DRAIN_BATCH = env.int("HITL_WEBHOOK_DRAIN_BATCH", default=10)
# Periodic sweeps (django_celery_beat's DatabaseScheduler copies them into its tables at start):
# due callback retries, the assignment timeout, messages left pending after a task gave up (or an
# eager run could not reach HubSpot), thread closes owed likewise, and webhook events whose
# processing task was lost.
CELERY_BEAT_SCHEDULE = {
    "hitl-sweep-pending-publishes": {
        "task": "conversations.tasks.publishing.sweep_pending_publishes",
        "schedule": 60.0,
    },
    "hitl-sweep-owed-thread-closes": {
        "task": "conversations.tasks.publishing.sweep_owed_thread_closes",
        "schedule": 60.0,
    },
    "hitl-sweep-queue-updates": {
        "task": "conversations.tasks.queue.sweep_queue_updates",
        "schedule": HITL_QUEUE_SWEEP_SECONDS,
    },
    "hitl-sweep-owed-briefings": {
        "task": "conversations.tasks.briefing.sweep_owed_briefings",
        "schedule": 60.0,
    },
    "hitl-sweep-due-callbacks": {
        "task": "conversations.tasks.callbacks.sweep_due_callbacks",
        "schedule": HITL_CALLBACK_SWEEP_SECONDS,
    },
    "hitl-sweep-pending-webhook-events": {
        "task": "conversations.tasks.webhooks.sweep_pending_webhook_events",
        "schedule": 60.0,
    },
    "hitl-expire-unassigned-escalations": {
        "task": "conversations.tasks.callbacks.expire_unassigned_escalations",
        "schedule": 60.0,
    },
    # SLA thresholds (conversations/watchdogs.py): breaches, then owed emails and HubSpot comments.
    "hitl-sweep-sla-watchdogs": {
        "task": "conversations.tasks.watchdogs.sweep_sla_watchdogs",
        "schedule": HITL_SLA_SWEEP_SECONDS,
    },
}

# HEALTH (core/health.py)
# ------------------------------------------------------------------------------
# /readyz gives the database and the broker this long each: a probe must not hang on a dead one.
HITL_READYZ_TIMEOUT = env.float("HITL_READYZ_TIMEOUT", default=2.0)

# HUBSPOT WEBHOOKS (conversations/webhooks)
# ------------------------------------------------------------------------------
# Largest request body accepted (413 above it, before the signature is even computed): 100 app
# events or one channel message are a few KB; this leaves room. Never more than this (+1 byte) is
# read, with or without Content-Length (conversations/webhooks/authentication.py, read_body), so
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not apply. A proxy in front must allow at least this.
HITL_WEBHOOK_MAX_BODY_BYTES = env.int("HITL_WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
# HubSpot batches at most 100 events per app-webhook request (contract §9.3).
HITL_WEBHOOK_MAX_EVENTS = env.int("HITL_WEBHOOK_MAX_EVENTS", default=100)
# Each web process keeps the app of a webhook URL (with its decrypted client secret) this long
# instead of reading and decrypting it per request; a signature that does not match re-reads it
# first, so a rotated secret works at once. A deleted app or changed URL token is refused within it.
HITL_WEBHOOK_APP_CACHE_SECONDS = env.float("HITL_WEBHOOK_APP_CACHE_SECONDS", default=10.0)
# How long an agent's name/email from the actors API is reused before asking HubSpot again.
HITL_ACTOR_CACHE_SECONDS = env.int("HITL_ACTOR_CACHE_SECONDS", default=3600)

# BENCHMARKS (`make bench`, bench/ and core/bench.py)
# ------------------------------------------------------------------------------
# On only in the benchmark's own server: mounts /bench/baseline/ (204, does nothing) and adds the
# X-Bench-Queries response header (SQL statements per request). Never on in a deployment.
HITL_BENCH = env.bool("HITL_BENCH", default=False)
if HITL_BENCH:
    MIDDLEWARE.insert(0, "core.bench.QueryCountMiddleware")

# OBSERVABILITY (core/metrics.py, core/metrics_view.py; docs/operations.md)
# ------------------------------------------------------------------------------
# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
# PROMETHEUS_MULTIPROC_DIR (read by prometheus_client from the environment) makes every gunicorn
# and Celery process of a host count into one total.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Adds the tenant's slug as a label to escalation metrics: only for a handful of tenants.
METRICS_TENANT_LABELS = env.bool("METRICS_TENANT_LABELS", default=False)
# Error reporting (core/error_reporting.py): on when SENTRY_DSN is set. No personal data; events
# are scrubbed like the logs before they leave the process.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default=env.str("DJANGO_ENV", default="local"))
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

# Email (member invitations): printed to the console unless EMAIL_URL names an SMTP server, e.g.
# EMAIL_URL=smtp+tls://user:password@smtp.example.com:587 (django-environ's email_url schemes).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HITL portal <no-reply@localhost>")
# How long an invitation's set-password link works.
HITL_INVITATION_DAYS = env.int("HITL_INVITATION_DAYS", default=7)
