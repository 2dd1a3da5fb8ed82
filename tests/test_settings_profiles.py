"""The production profile refuses unsafe settings; the embedded profile needs none."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SAFE = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k" * 64,
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hitl",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "hitl.example.com",
    "PUBLIC_BASE_URL": "https://hitl.example.com",
}


def boot(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SAFE and k != "DJANGO_SETTINGS_MODULE"}
    env.update({k: v for k, v in env_overrides.items() if v is not None})
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, hitl_portal.env as e; e.use_default_settings(); django.setup(); print('booted')",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_boots_with_safe_settings():
    result = boot(SAFE)
    assert result.returncode == 0, result.stderr
    assert "booted" in result.stdout


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be off"),
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS must be set"),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set"),
        ({"CELERY_BROKER_URL": None}, "CELERY_BROKER_URL must be set"),
        ({"PUBLIC_BASE_URL": "http://hitl.example.com"}, "PUBLIC_BASE_URL must be an https://"),
    ],
)
def test_production_refuses_unsafe_settings(override, complaint):
    result = boot({**SAFE, **override})
    assert result.returncode != 0
    assert "Unsafe production settings" in result.stderr
    assert complaint in result.stderr
    assert SAFE["SECRET_KEY"] not in result.stderr


def test_unknown_profile_is_refused():
    result = boot({"DJANGO_ENV": "staging"})
    assert result.returncode != 0
    assert "DJANGO_ENV='staging' is not one of" in result.stderr
