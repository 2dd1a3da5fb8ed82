"""Which settings module a process starts with.

`DJANGO_ENV=production` selects the production profile; anything else the local one. An explicit
`DJANGO_SETTINGS_MODULE` always wins, so tests and operators can name a module directly.
"""

import os

PROFILES = {
    "production": "hitl_portal.settings.production",
    "local": "hitl_portal.settings.local",
    "test": "hitl_portal.settings.test",
}


def use_default_settings() -> None:
    profile = os.environ.get("DJANGO_ENV", "local").strip().lower() or "local"
    if profile not in PROFILES:
        raise SystemExit(f"DJANGO_ENV={profile!r} is not one of: {', '.join(sorted(PROFILES))}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", PROFILES[profile])
