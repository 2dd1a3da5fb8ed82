"""`make run`'s path on a machine with nothing installed: SQLite, eager tasks, admin login page."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_profile_migrates_and_serves_admin_login(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL"}
    }
    env.update({"DJANGO_ENV": "local", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    manage = [sys.executable, "manage.py"]
    migrate = subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.3)
        assert response.status_code == 200
        assert "HubSpot HITL portal" in response.text
        assert 'name="password"' in response.text
    finally:
        server.terminate()
        server.wait(timeout=10)
