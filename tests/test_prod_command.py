"""`make prod`'s refusals, `make prod-env`'s file, and the Procfile honcho runs."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from honcho.environ import parse_procfile

from tests.test_settings_profiles import boot

ROOT = Path(__file__).resolve().parent.parent


def make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    return subprocess.run(
        ["make", "-s", "-o", ".venv/.runtime", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_env(path: Path) -> dict:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_make_prod_without_an_env_file_says_how_to_write_one(tmp_path):
    result = make("prod", f"ENV_FILE={tmp_path / 'missing.env'}")
    assert result.returncode != 0
    assert "make prod runs the production profile: set DJANGO_ENV=production" in result.stderr
    assert "`make prod-env`" in result.stderr and ".env.example" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_prod_lists_missing_settings_without_a_traceback(tmp_path):
    env_file = tmp_path / "prod.env"
    env_file.write_text("DJANGO_ENV=production\nSECRET_KEY=short-and-secret\n")
    result = make("prod", f"ENV_FILE={env_file}")
    assert result.returncode != 0
    assert "Cannot start the production profile." in result.stderr
    assert "SECRET_KEY must be set" in result.stderr
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr
    assert "short-and-secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_prod_env_writes_private_fresh_secrets_that_boot_production(tmp_path):
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    result = make("prod-env", f"ENV_FILE={first}", "PROD_HOST=hitl.example.org")
    assert result.returncode == 0, result.stderr
    make("prod-env", f"ENV_FILE={second}", "PROD_HOST=hitl.example.org")

    values = read_env(first)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert values["PUBLIC_BASE_URL"] == "https://hitl.example.org"
    assert values["ALLOWED_HOSTS"] == "hitl.example.org"
    assert values["SECRET_KEY"] != read_env(second)["SECRET_KEY"]
    assert values["FIELD_ENCRYPTION_KEYS"] != read_env(second)["FIELD_ENCRYPTION_KEYS"]
    for secret in (values["SECRET_KEY"], values["FIELD_ENCRYPTION_KEYS"]):
        assert secret not in result.stdout + result.stderr
    booted = boot(values)
    assert booted.returncode == 0, booted.stderr


def test_prod_env_never_overwrites(tmp_path):
    existing = tmp_path / ".env"
    existing.write_text("FIELD_ENCRYPTION_KEYS=the-only-copy\n")
    result = make("prod-env", f"ENV_FILE={existing}")
    assert result.returncode != 0
    assert "exists" in result.stderr
    assert existing.read_text() == "FIELD_ENCRYPTION_KEYS=the-only-copy\n"


def test_procfile_runs_web_worker_and_one_beat():
    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    assert set(processes) == {"web", "worker", "beat"}
    assert processes["web"] == "gunicorn -c gunicorn.conf.py"
    assert processes["worker"].startswith("celery -A hitl_portal -q worker ")
    assert processes["beat"].startswith("celery -A hitl_portal -q beat ")


def test_prod_env_takes_the_operators_values_and_strips_the_port(tmp_path):
    path = tmp_path / "prod.env"
    result = make(
        "prod-env",
        f"ENV_FILE={path}",
        "PROD_HOST=hitl.example.org:8443",
        "DATABASE_URL=postgres://hitl:db-password@db.internal:5433/portal",
        "REDIS_URL=redis://redis.internal:6379",
    )
    assert result.returncode == 0, result.stderr
    values = read_env(path)
    assert values["ALLOWED_HOSTS"] == "hitl.example.org"  # Django matches names, never ports
    assert values["PUBLIC_BASE_URL"] == "https://hitl.example.org:8443"
    assert values["DATABASE_URL"] == "postgres://hitl:db-password@db.internal:5433/portal"
    assert values["CELERY_BROKER_URL"] == "redis://redis.internal:6379/0"
    assert values["CACHE_URL"] == "redis://redis.internal:6379/1"
    # What to do next: the database to create (no password shown) and what to edit.
    assert "createdb -h db.internal -p 5433 -U hitl portal" in result.stdout
    assert "db-password" not in result.stdout + result.stderr
    assert "GUNICORN_BIND" in result.stdout


def test_make_manage_runs_a_command_with_the_env_files_settings(tmp_path):
    path = tmp_path / "prod.env"
    assert make("prod-env", f"ENV_FILE={path}", "PROD_HOST=hitl.example.org").returncode == 0
    result = make("manage", f"ENV_FILE={path}", "ARGS=diffsettings")
    assert result.returncode == 0, result.stderr
    assert "SECURE_SSL_REDIRECT = True" in result.stdout
    assert "ALLOWED_HOSTS = ['hitl.example.org']" in result.stdout

    missing = make("manage", f"ENV_FILE={tmp_path / 'nope.env'}", "ARGS=check")
    assert missing.returncode != 0
    assert "nope.env not found: write it with make prod-env" in missing.stderr


def test_preflight_names_a_dead_cache(tmp_path):
    path = tmp_path / "prod.env"
    assert make("prod-env", f"ENV_FILE={path}", "PROD_HOST=hitl.example.org").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    result = subprocess.run(
        [sys.executable, "-m", "hitl_portal.preflight"],
        cwd=ROOT,
        # The environment wins over the file: a cache where nothing listens.
        env=env | {"ENV_FILE": str(path), "CACHE_URL": "redis://127.0.0.1:9/1", "CACHE_TIMEOUT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cache unreachable:" in result.stderr
    assert "CACHE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_preflight_warns_about_an_env_file_others_can_read(tmp_path):
    path = tmp_path / "prod.env"
    assert make("prod-env", f"ENV_FILE={path}", "PROD_HOST=hitl.example.org").returncode == 0
    path.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    result = subprocess.run(
        [sys.executable, "-m", "hitl_portal.preflight"],
        cwd=ROOT,
        env=env | {"ENV_FILE": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"{path} is readable by other users; run: chmod 600 {path}" in result.stderr
