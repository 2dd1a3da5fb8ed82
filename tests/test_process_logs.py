"""Production processes log JSON lines (millisecond UTC times, one record per line), started as the
Procfile starts them: Celery's worker and beat here; gunicorn's access and error logs in
tests/test_env_file.py."""

import json
import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection
from honcho.environ import parse_procfile

from tests.gunicorn import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
PROCFILE = parse_procfile((ROOT / "Procfile").read_text()).processes
# Celery says this on stderr itself (not through logging) as it stops.
NOT_LOGGING = {"worker: Warm shutdown (MainProcess)"}


def env_file(tmp_path) -> str:
    db = connection.settings_dict
    path = tmp_path / "prod.env"
    path.write_text(
        "\n".join(
            [
                "DJANGO_ENV=production",
                f"SECRET_KEY={'s' * 64}",
                f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}",
                f"DATABASE_URL=postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{db['NAME']}",
                f"CELERY_BROKER_URL={settings.TEST_REDIS_URL}",
                f"CACHE_URL={settings.TEST_REDIS_URL}",
                "ALLOWED_HOSTS=hitl.example.com",
                "PUBLIC_BASE_URL=https://hitl.example.com",
                "",
            ]
        )
    )
    return str(path)


def start(process: str, tmp_path) -> tuple[subprocess.Popen, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_URL"))}
    env |= {"ENV_FILE": env_file(tmp_path), "PATH": f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"}
    log = tmp_path / f"{process}.log"
    with open(log, "w") as out:
        popen = subprocess.Popen(
            ["sh", "-c", f"exec {PROCFILE[process]}"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return popen, log


def wait_for(popen: subprocess.Popen, log: Path, marker: str) -> None:
    deadline = time.monotonic() + 45
    while marker not in log.read_text() and time.monotonic() < deadline:
        assert popen.poll() is None, log.read_text()
        time.sleep(0.05)
    assert marker in log.read_text(), log.read_text()


def run_until(process: str, tmp_path, marker: str) -> list[str]:
    popen, log = start(process, tmp_path)
    try:
        wait_for(popen, log, marker)
        time.sleep(3)  # past start-up, to the steady state a stop normally meets
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    return [line for line in log.read_text().splitlines() if line.strip()]


def assert_json_records(lines: list[str]) -> list[dict]:
    records = []
    for line in lines:
        if line.strip() in NOT_LOGGING:
            continue
        record = json.loads(line)  # fails on a banner, a raw warning or a plain-text record
        stamp = datetime.fromisoformat(record["time"])
        assert stamp.utcoffset().total_seconds() == 0
        assert re.fullmatch(r".*T\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time"]), record["time"]
        assert {"level", "logger", "message", "pid"} <= set(record)
        records.append(record)
    return records


def test_worker_logs_json(transactional_db, tmp_path):
    records = assert_json_records(run_until("worker", tmp_path, "ready."))
    assert any(r["logger"].startswith("celery") and r["message"].endswith("ready.") for r in records)


def test_beat_logs_json(transactional_db, tmp_path):
    records = assert_json_records(run_until("beat", tmp_path, "beat: Starting"))
    assert any(r["logger"] == "celery.beat" for r in records)


def test_beat_stops_on_sigterm_even_while_it_starts(transactional_db, tmp_path):
    """SIGTERM right as beat starts (a restart during a deploy) used to hang it until SIGKILL: the
    stop handler rebuilt the scheduler inside the interrupted database query (core/beat.py)."""
    for attempt in range(5):
        popen, log = start("beat", tmp_path)
        try:
            wait_for(popen, log, "beat: Starting")
            popen.terminate()
            popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"beat ignored SIGTERM while starting (attempt {attempt + 1})") from None
        finally:
            if popen.poll() is None:
                popen.kill()
                popen.wait()
