"""Where every process gets its settings: the env file first, then the profile.

Every entry point (`manage.py`, `gunicorn -c gunicorn.conf.py`, `celery -A hitl_portal worker|beat`,
the preflight, the WSGI/ASGI modules) calls `use_default_settings()` before Django loads, so the
profile and each setting come from the same place whichever command starts the process:

1. The env file is read into the process environment: `ENV_FILE` if set (`/dev/null` reads
   nothing), else `.env` in the project directory if there is one. Variables already in the
   environment win over the file (as with systemd's `EnvironmentFile=` or `docker run -e`).
2. `DJANGO_ENV=production` selects the production profile, `test` the test one; anything else the
   local one. An explicit `DJANGO_SETTINGS_MODULE` wins, so tests and operators can name a module.

The test profile never reads an env file: a developer's `.env` must not change what the suite runs.
"""

import os
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {
    "production": "hitl_portal.settings.production",
    "local": "hitl_portal.settings.local",
    "test": "hitl_portal.settings.test",
}
# Host names that only ever mean "this machine": a local profile serving other names was meant to
# be production.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "testserver", "*", ".localhost"}  # noqa: S104


class EnvFileMissing(SystemExit):
    pass


def env_file() -> Path | None:
    """The env file this process reads, or None."""
    named = os.environ.get("ENV_FILE", "").strip()
    if named:
        path = Path(named)
        if not path.exists():
            raise EnvFileMissing(f"ENV_FILE={named} does not exist (unset ENV_FILE to read ./.env).")
        return path
    default = ROOT / ".env"
    return default if default.is_file() else None


def load_env_file() -> Path | None:
    """Read the env file into os.environ (never over a variable already set); returns its path."""
    if os.environ.get("DJANGO_SETTINGS_MODULE") == PROFILES["test"] or _profile_name() == "test":
        return None
    path = env_file()
    if path is not None:
        environ.Env.read_env(str(path), overwrite=False)
    return path


def _profile_name() -> str:
    return os.environ.get("DJANGO_ENV", "").strip().lower() or "local"


def profile() -> str:
    """The profile this process runs (after `use_default_settings`)."""
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    for name, path in PROFILES.items():
        if module == path:
            return name
    return _profile_name()


def use_default_settings() -> None:
    load_env_file()
    name = _profile_name()
    if name not in PROFILES:
        raise SystemExit(f"DJANGO_ENV={name!r} is not one of: {', '.join(sorted(PROFILES))}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", PROFILES[name])


def production_markers() -> list[str]:
    """Why the environment looks like a production deployment, if it does (names, never values
    that could be secret: host names and origins are public)."""
    markers = []
    hosts = [h.strip().lower() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    public = [h for h in hosts if h not in LOCAL_HOSTS]
    if public:
        markers.append(f"ALLOWED_HOSTS names {', '.join(public)}")
    base = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if base.startswith("https://"):
        markers.append(f"PUBLIC_BASE_URL is {base}")
    return markers


def log_format() -> str:
    """`LOG_FORMAT`, default JSON in production: shared by Django's, gunicorn's and Celery's logs."""
    return os.environ.get("LOG_FORMAT", "").strip() or ("json" if profile() == "production" else "text")
