"""`make prod`'s first step: can the production profile start on this machine?

Exits 0 when the settings load and the database and broker answer; otherwise says what is wrong
and how to fix it, exit status 2, without printing any secret (the settings' own refusal names
variables, never values; /readyz's checks scrub credentials).
"""

import os
import sys

HOW_TO_FIX = (
    "Write a production env for this machine with fresh secrets: `make prod-env` (creates .env), or\n"
    "copy .env.example to .env and fill it in. `make prod` reads .env; real environment variables\n"
    "set before it are overridden by .env."
)


def main() -> int:
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
        print("Start it, or fix DATABASE_URL / CELERY_BROKER_URL in .env.", file=sys.stderr)
        return 2
    print("Production settings complete; database and broker answer.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
