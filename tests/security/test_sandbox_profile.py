"""The production profile refuses to start with the sandbox on."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "HUBSPOT", "HITL"))},
        "DJANGO_SETTINGS_MODULE": "hitl_portal.settings.production",
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "hitl.example.com",
        "PUBLIC_BASE_URL": "https://hitl.example.com",
        **extra,
    }


def boot_production(code: str = "print('started')", **extra) -> subprocess.CompletedProcess:
    """Load the production settings in a fresh interpreter, then run `code`."""
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=production_env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_production_refuses_the_sandbox(value):
    run = boot_production(HUBSPOT_SANDBOX=value)
    assert run.returncode != 0 and "started" not in run.stdout
    assert "HUBSPOT_SANDBOX must be off in production" in run.stderr


def test_production_starts_without_the_sandbox():
    run = boot_production(HUBSPOT_SANDBOX="false")
    assert run.returncode == 0, run.stderr
    assert "started" in run.stdout
