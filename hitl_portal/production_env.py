"""Write a production env file from the values an operator has, with fresh secrets.

    python -m hitl_portal.production_env --host hitl.example.com[:port] [--path .env]
        [--database-url postgres://…] [--redis-url redis://host:6379] [--broker-url …] [--cache-url …]

SECRET_KEY and FIELD_ENCRYPTION_KEYS are generated here and written only to the file (mode 0600),
never printed. An existing file is never overwritten: its encryption keys may be the only way to
read the secrets already in the database.
"""

import argparse
import os
import secrets
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def host_name(host: str) -> str:
    """What ALLOWED_HOSTS needs: the name without a port (Django compares names, not ports)."""
    host = host.strip().removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if host.startswith("["):  # [::1]:8443
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def redis_db(url: str, db: int) -> str:
    """The same Redis server with database `db`: broker and cache apart, so neither evicts the other."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def render(host: str, database_url: str, broker_url: str, cache_url: str) -> str:
    return f"""# Production env for this machine, written by `make prod-env` (hitl_portal/production_env.py).
# Keep it private (mode 0600) and backed up: without FIELD_ENCRYPTION_KEYS the secrets stored in
# the database (HubSpot tokens, client secrets) cannot be read. See .env.example for every option.
DJANGO_ENV=production
SECRET_KEY={secrets.token_urlsafe(64)}
FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}

DATABASE_URL={database_url}
CELERY_BROKER_URL={broker_url}
# Rate-limit windows shared by all web processes (HubSpot client and bot API limits).
CACHE_URL={cache_url}

# Served behind a TLS-terminating proxy that sets X-Forwarded-Proto. With the proxy (or load
# balancer) on another machine: GUNICORN_BIND=0.0.0.0:8000 and FORWARDED_ALLOW_IPS=<its addresses>.
ALLOWED_HOSTS={host_name(host)}
PUBLIC_BASE_URL=https://{host}
GUNICORN_BIND=127.0.0.1:8000
FORWARDED_ALLOW_IPS=127.0.0.1,::1
HUBSPOT_SANDBOX=false

# Sizes (defaults: web processes 2 x CPUs + 1, up to 8; 4 threads each; 2 task processes).
# WEB_CONCURRENCY=4
# GUNICORN_THREADS=4
# CELERY_WORKER_CONCURRENCY=2
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=socket.getfqdn(), help="public host name (default: this machine's)")
    parser.add_argument("--path", default=str(ROOT / ".env"), help="file to write (default: .env)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/hitl")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379", help="Redis server: broker in db 0, cache in db 1"
    )
    parser.add_argument("--broker-url", help="Celery broker (default: --redis-url db 0; or amqp://…)")
    parser.add_argument("--cache-url", help="shared cache (default: --redis-url db 1)")
    args = parser.parse_args(argv)
    broker_url = args.broker_url or redis_db(args.redis_url, 0)
    cache_url = args.cache_url or redis_db(args.redis_url, 1)
    path = Path(args.path)
    if path.exists():
        print(
            f"{path} exists; not overwritten (its keys may be needed to read stored secrets).",
            file=sys.stderr,
        )
        return 1
    host = args.host.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    text = render(host, args.database_url, broker_url, cache_url)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    database = urlsplit(args.database_url)
    print(f"Wrote {path} (mode 0600) for https://{host}: fresh SECRET_KEY and FIELD_ENCRYPTION_KEYS")
    print("(not shown). Back it up: without its keys the secrets stored in the database cannot be read.")
    print("Next:")
    name, user = database.path.lstrip("/") or "hitl", database.username or "postgres"
    print(
        "  1. Create the database if it does not exist: "
        f"createdb -h {database.hostname or '127.0.0.1'} -p {database.port or 5432} -U {user} {name}"
    )
    print(f"  2. Check and edit {path}: DATABASE_URL, CELERY_BROKER_URL, CACHE_URL (Redis, as given),")
    print("     GUNICORN_BIND and FORWARDED_ALLOW_IPS if the TLS proxy is on another machine.")
    print("  3. One machine: make prod. Several, or under systemd: README, section Production.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
