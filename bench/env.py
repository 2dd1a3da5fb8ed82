"""The environment of every process the bench starts: one generated production env.

Secrets are generated on the first run and kept in var/bench/dev-secrets.json (mode 600), because the
seeded database is kept between runs and its encrypted columns need the same keys. Nothing here
is printed.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hitl_portal.settings.devsecrets import load_or_create

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var" / "bench"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hitl_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
HOST = "127.0.0.1"  # loopback only


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query (a BENCH_DATABASE_URL may carry options of its own)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | params
    return urlunsplit(parts._replace(query=urlencode(query)))


def _secrets() -> dict:
    # The local profile's generator of per-install secrets, kept in var/bench/ instead of var/.
    values = load_or_create(VAR)
    keys = ",".join(values["FIELD_ENCRYPTION_KEYS"])
    return {"SECRET_KEY": values["SECRET_KEY"], "FIELD_ENCRYPTION_KEYS": keys}


def have_secrets() -> bool:
    """False on a first run, or when the secrets were deleted: a kept database is then unreadable."""
    return (VAR / "dev-secrets.json").exists()


@dataclass(frozen=True)
class Ports:
    portal: int
    sandbox: int
    receiver: int

    @classmethod
    def pick(cls) -> Ports:
        return cls(free_port(), free_port(), free_port())

    def url(self, name: str) -> str:
        return f"http://{HOST}:{getattr(self, name)}"


def portal_env(ports: Ports) -> dict[str, str]:
    """The portal's production profile, as a deployment would set it, plus the bench's switches."""
    return {
        **_secrets(),
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "hitl_portal.settings.production",
        # The bench decides every setting: a developer's .env must not add to them.
        "ENV_FILE": os.devnull,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "PUBLIC_BASE_URL": ports.url("portal"),
        # No TLS proxy in front on loopback: plain http is allowed explicitly, no redirect to https.
        "ALLOW_HTTP": "true",
        "SECURE_SSL_REDIRECT": "false",
        # The bench's own hooks: /bench/baseline/ and the X-Bench-Queries header.
        "HITL_BENCH": "true",
        # The bot's callback receiver listens on 127.0.0.1; production refuses that by default.
        "HITL_ALLOW_PRIVATE_CALLBACKS": "true",
        # "HubSpot" is the sandbox server started next to the portal.
        "HUBSPOT_API_BASE": f"{ports.url('sandbox')}/sandbox/api",
        "HUBSPOT_APP_BASE": f"{ports.url('sandbox')}/sandbox/app",
        # Our own throttle of HubSpot calls (90 per 10 s per portal, HubSpot's limit) would cap the
        # bot API scenario, which runs against one sandbox portal, at 9 starts/s: the bench
        # measures the portal, and the sandbox enforces no limit.
        "HUBSPOT_RATE_LIMIT_PER_10S": "100000000",
        # Per-key bot API rate limits (600/min, 60 starts/min by default) would cap the bot API
        # scenario's one key: the bench measures the portal's capacity, not its limits.
        "HITL_BOT_API_RATE_LIMIT": "off",
        "HITL_BOT_API_START_RATE_LIMIT": "off",
        "PYTHONUNBUFFERED": "1",
    }


def sandbox_env(ports: Ports) -> dict[str, str]:
    """The HubSpot stand-in: a separate server on the local profile with the sandbox mounted,
    on the same PostgreSQL database (its tables are its own), tasks eager (no broker)."""
    return {
        **_secrets(),
        "DJANGO_ENV": "local",
        "DJANGO_SETTINGS_MODULE": "hitl_portal.settings.local",
        "ENV_FILE": os.devnull,
        "DJANGO_DEBUG": "false",
        # Connections kept, as the portal's production profile keeps them (CONN_MAX_AGE): the local
        # profile opens one per request, and that PostgreSQL backend's start (on the same 2 cores)
        # was a quarter of the sandbox's time per status PATCH, HubSpot's cost, not the portal's.
        "DATABASE_URL": _with_query(DATABASE_URL, conn_max_age="60"),
        "HUBSPOT_SANDBOX": "true",
        "PUBLIC_BASE_URL": ports.url("sandbox"),
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def orchestrator_env(ports: Ports) -> dict[str, str]:
    """This process (seeding, provisioning): the portal's env, with the sandbox switch on so
    `provision_connection --sandbox` can seed the sandbox's demo portal. The production profile
    refuses the sandbox switch, so this process loads the local profile over the same database,
    broker and secrets (it serves no request)."""
    return {
        **portal_env(ports),
        "DJANGO_ENV": "local",
        "DJANGO_SETTINGS_MODULE": "hitl_portal.settings.local",
        "DJANGO_DEBUG": "false",
        "HUBSPOT_SANDBOX": "true",
    }
