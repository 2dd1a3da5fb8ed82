"""Write a production env file for a single-machine install, with fresh secrets.

    python -m hitl_portal.production_env --host hitl.example.com [--path .env] [--database-url …]

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

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


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

# Served behind a TLS-terminating proxy on this machine that sets X-Forwarded-Proto.
ALLOWED_HOSTS={host}
PUBLIC_BASE_URL=https://{host}
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
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/1")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if path.exists():
        print(
            f"{path} exists; not overwritten (its keys may be needed to read stored secrets).",
            file=sys.stderr,
        )
        return 1
    text = render(args.host, args.database_url, args.broker_url, args.cache_url)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    print(f"Wrote {path} (mode 0600) for https://{args.host}: fresh SECRET_KEY and FIELD_ENCRYPTION_KEYS")
    print("(not shown); database, broker and cache URLs as given (default 127.0.0.1). Then: make prod")
    return 0


if __name__ == "__main__":
    sys.exit(main())
