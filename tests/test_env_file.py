"""Every entry point reads the env file before it picks the profile (hitl_portal/env.py).

The multi-host recipe of the README is run as written: a release directory holding `.env`, and the
README's gunicorn command started in it with nothing else in the environment. It must serve the
production profile (DEBUG off, https redirect), and a process that fell back to the local profile
where production was meant must not report ready.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings

from tests.gunicorn import free_port

ROOT = Path(__file__).resolve().parent.parent
HOST = "hitl.example.com"
# Nothing that could choose settings is inherited: the release's .env alone decides.
_CHOOSERS = (
    "DJANGO_",
    "ENV_FILE",
    "DATABASE_URL",
    "CELERY_",
    "CACHE_URL",
    "ALLOWED_HOSTS",
    "PUBLIC_BASE_URL",
)


def readme_command(starts: str) -> str:
    """The README's own command line (comments stripped), so the test runs what operators read."""
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.strip().startswith(starts):
            return line.split("#", 1)[0].strip()
    raise AssertionError(f"README has no line starting with {starts!r}")


def release(tmp_path: Path) -> Path:
    """A release directory as on a web host: the code, its virtualenv, and no .env yet."""
    target = tmp_path / "release"
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "staticfiles", "__pycache__", ".env", "node_modules"
        ),
    )
    (target / ".venv").symlink_to(Path(sys.prefix))
    return target


def production_env(port: int) -> str:
    return "\n".join(
        [
            "DJANGO_ENV=production",
            f"SECRET_KEY={'s' * 64}",
            f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}",
            f"DATABASE_URL={settings.TEST_DATABASE_URL}",
            f"CELERY_BROKER_URL={settings.TEST_REDIS_URL}",
            f"CACHE_URL={settings.TEST_REDIS_URL}",
            f"ALLOWED_HOSTS={HOST}",
            f"PUBLIC_BASE_URL=https://{HOST}",
            f"GUNICORN_BIND=127.0.0.1:{port}",
            "WEB_CONCURRENCY=1",
            "",
        ]
    )


def start(directory: Path, command: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CHOOSERS)}
    log = open(directory / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        shlex.split(command), cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def wait_healthy(url: str, popen: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no answer:\n{log.read_text()}")


def stop(popen: subprocess.Popen) -> None:
    popen.terminate()
    try:
        popen.wait(timeout=15)
    except subprocess.TimeoutExpired:
        popen.kill()


@pytest.mark.postgres
def test_readme_multi_host_web_command_serves_the_production_profile_from_env(tmp_path):
    directory = release(tmp_path)
    port = free_port()
    (directory / ".env").write_text(production_env(port))
    (directory / ".env").chmod(0o600)
    # Each web host collects the static files first (README: `make manage ARGS="collectstatic
    # --noinput"`, the same as manage.py run here): the error pages use hashed static names.
    collect = subprocess.run(
        [".venv/bin/python", "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=directory,
        env={k: v for k, v in os.environ.items() if not k.startswith(_CHOOSERS)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode == 0, collect.stderr
    popen = start(directory, readme_command(".venv/bin/gunicorn -c gunicorn.conf.py"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, popen, directory / "gunicorn.log")
        ready = requests.get(f"{url}/readyz", timeout=10).json()
        assert ready["profile"] == "production"
        assert ready["checks"]["profile"]["status"] == "ok"

        # Plain http through the proxy: redirected to https (SECURE_SSL_REDIRECT of production).
        plain = requests.get(f"{url}/admin/login/", headers={"Host": HOST}, allow_redirects=False, timeout=10)
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://{HOST}/admin/login/"

        # DEBUG off: a missing page is the plain 404, not Django's technical page listing URLs.
        secure = {"Host": HOST, "X-Forwarded-Proto": "https"}
        missing = requests.get(f"{url}/no-such-page/", headers=secure, timeout=10)
        assert missing.status_code == 404
        assert "URLconf" not in missing.text and "DEBUG" not in missing.text
        assert missing.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        stop(popen)
    # Production logs are JSON lines, gunicorn's own included.
    lines = [line for line in (directory / "gunicorn.log").read_text().splitlines() if line.strip()]
    assert lines and all(line.startswith("{") for line in lines), lines[:5]
    assert any('"logger": "gunicorn.access"' in line and "/no-such-page/" in line for line in lines)


@pytest.mark.postgres
def test_local_profile_with_production_markers_is_not_ready(tmp_path):
    directory = release(tmp_path)
    port = free_port()
    # The operator forgot DJANGO_ENV: the local profile starts, but must not take traffic.
    env_text = re.sub(r"^DJANGO_ENV=.*\n", "", production_env(port), flags=re.M)
    (directory / ".env").write_text(env_text)
    popen = start(directory, readme_command(".venv/bin/gunicorn -c gunicorn.conf.py"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, popen, directory / "gunicorn.log")
        ready = requests.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 503
        body = ready.json()
        assert body["profile"] == "local"
        assert "profile" in body["failed"]
        assert "DJANGO_ENV is unset" in body["checks"]["profile"]["error"]
        assert HOST in body["checks"]["profile"]["error"]
    finally:
        stop(popen)


def run_python(code: str, cwd: Path, extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CHOOSERS)}
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


PRINT_PROFILE = (
    "import django, hitl_portal.env as e; e.use_default_settings(); django.setup();"
    "from django.conf import settings as s; print(e.profile(), s.DEBUG, s.SECURE_SSL_REDIRECT)"
)


def test_env_file_chooses_the_profile_for_every_entry_point(tmp_path):
    directory = release(tmp_path)
    (directory / ".env").write_text(production_env(free_port()))
    booted = run_python(PRINT_PROFILE, directory)
    assert booted.returncode == 0, booted.stderr
    assert booted.stdout.split() == ["production", "False", "True"]
    # Celery's app module and manage.py go through the same loader.
    celery = run_python(
        "import hitl_portal.celery, os; print(os.environ['DJANGO_SETTINGS_MODULE'])", directory
    )
    assert celery.stdout.strip() == "hitl_portal.settings.production", celery.stderr
    manage = subprocess.run(
        [sys.executable, "manage.py", "diffsettings", "--all"],
        cwd=directory,
        env={k: v for k, v in os.environ.items() if not k.startswith(_CHOOSERS)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "SECURE_SSL_REDIRECT = True" in manage.stdout, manage.stderr
    # The environment wins over the file (systemd's EnvironmentFile=, docker -e).
    overridden = run_python(PRINT_PROFILE, directory, {"DJANGO_ENV": "local"})
    assert overridden.stdout.split()[0] == "local", overridden.stderr


def test_env_file_named_by_env_file_and_a_missing_one_is_an_error(tmp_path):
    directory = release(tmp_path)
    elsewhere = tmp_path / "hitl.env"
    elsewhere.write_text(production_env(free_port()))
    booted = run_python(PRINT_PROFILE, directory, {"ENV_FILE": str(elsewhere)})
    assert booted.stdout.split()[0] == "production", booted.stderr
    missing = run_python(PRINT_PROFILE, directory, {"ENV_FILE": str(tmp_path / "nope.env")})
    assert missing.returncode != 0
    assert "nope.env does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_test_profile_and_make_run_ignore_a_developers_env_file(tmp_path):
    directory = release(tmp_path)
    # A production .env whose database would fail loudly if anything read it.
    (directory / ".env").write_text(
        production_env(free_port()).replace(
            settings.TEST_DATABASE_URL, "postgres://nobody@127.0.0.1:1/nothing"
        )
    )
    code = (
        "import hitl_portal.env as e, os; e.use_default_settings();"
        "print(e.profile(), 'CACHE_URL' in os.environ)"
    )
    booted = run_python(code, directory, {"DJANGO_SETTINGS_MODULE": "hitl_portal.settings.test"})
    assert booted.stdout.split() == ["test", "False"], booted.stderr
    # `make run`'s embedded install (its migrate step here): local profile, SQLite in var/.
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CHOOSERS)}
    migrated = subprocess.run(
        ["make", "-s", "-o", ".venv/.runtime", "migrate"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert (directory / "var" / "db.sqlite3").exists()
