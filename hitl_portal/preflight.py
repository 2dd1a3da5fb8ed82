"""`make prod`'s first step: can the production profile start on this machine?

Reads the env file exactly as every other entry point does (hitl_portal/env.py), then exits 0 when
the settings load and the database, broker and cache answer; otherwise says what is wrong
and how to fix it, exit status 2, without printing any secret (the settings' own refusal names
variables, never values; /readyz's checks scrub credentials).
"""

import os
import sys

HOW_TO_FIX = (
    "Write a production env for this machine with fresh secrets: `make prod-env` (creates .env), or\n"
    "copy .env.example to .env and fill it in. Every process reads .env (or ENV_FILE); under\n"
    "`make prod` its values also override variables set in the shell."
)


def main() -> int:
    from hitl_portal.env import EnvFileMissing, load_env_file

    try:
        path = load_env_file()
    except EnvFileMissing as exc:
        print(exc, file=sys.stderr)
    else:
        if path is not None and path.is_file() and path.stat().st_mode & 0o077:
            # It holds SECRET_KEY and the encryption keys: only the service user should read it.
            print(f"Warning: {path} is readable by other users; run: chmod 600 {path}", file=sys.stderr)
    profile = os.environ.get("DJANGO_ENV", "")
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if profile != "production" or module not in ("", "hitl_portal.settings.production"):
        print(
            "make prod runs the production profile: set DJANGO_ENV=production (and no other "
            f"DJANGO_SETTINGS_MODULE); found DJANGO_ENV={profile or '(unset)'}.\n{HOW_TO_FIX}",
            file=sys.stderr,
        )
        return 2
    import django
    from django.core.exceptions import ImproperlyConfigured

    from hitl_portal.env import use_default_settings

    use_default_settings()
    try:
        django.setup()
    except ImproperlyConfigured as exc:
        print(f"Cannot start the production profile.\n{exc}\n{HOW_TO_FIX}", file=sys.stderr)
        return 2
    from core.health import readiness

    status, body = readiness()
    if status != 200:
        for name in body["failed"]:
            print(f"{name} unreachable: {body['checks'][name]['error']}", file=sys.stderr)
        print("Start it, or fix DATABASE_URL / CELERY_BROKER_URL / CACHE_URL in .env.", file=sys.stderr)
        return 2
    if body["checks"]["cache"]["status"] != "ok":
        print(
            "CACHE_URL is not set: each web process counts bot API rate limits on its own. "
            "Set CACHE_URL=redis://… so they share one count.",
            file=sys.stderr,
        )
    print("Production settings complete; database, broker and cache answer.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
