"""gunicorn.conf.py: per-instance (or no) control socket, and logs through the app's redaction, the
access log with the request id."""

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.gunicorn import running_gunicorn

ROOT = Path(__file__).resolve().parent.parent


def conf(env: dict) -> dict:
    """gunicorn.conf.py's values as gunicorn would read them, in a clean process."""
    code = (
        "import json, runpy; c = runpy.run_path('gunicorn.conf.py');"
        "print(json.dumps({k: c[k] for k in ('control_socket', 'control_socket_disable', 'bind')}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "DJANGO_"))}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_control_socket_is_off_unless_given_a_path_of_its_own():
    # gunicorn's default is one path per user: a second gunicorn on the host would take it over.
    assert conf({})["control_socket_disable"] is True
    web1 = conf({"GUNICORN_CONTROL_SOCKET": "/run/hitl/web1.ctl"})
    assert web1["control_socket_disable"] is False
    assert web1["control_socket"] == "/run/hitl/web1.ctl"


def test_gunicorn_logs_go_through_the_redaction_filter_as_json():
    code = """
import logging, logging.config, runpy
c = runpy.run_path('gunicorn.conf.py')
logging.config.dictConfig(c['logconfig_dict'])
logging.getLogger('gunicorn.error').error('upstream said access_token=abc123secret')
logging.getLogger('gunicorn.access').info(
    '%(h)s %(r)s', {'h': '127.0.0.1', 'r': 'GET /?hapikey=xyz789', 'm': 'GET', 'U': '/api/v1/x', 's': '201',
                    'B': '17', 'M': 12, 'a': 'bot/1.0'})
"""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "LOG_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base | {"LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    error, access = json.loads(result.stderr), json.loads(result.stdout)
    assert error["logger"] == "gunicorn.error" and "abc123secret" not in result.stderr
    assert "access_token=[REDACTED]" in error["message"]
    assert access["logger"] == "gunicorn.access" and "xyz789" not in result.stdout
    # The request's fields as keys, for a log pipeline to query.
    assert access["method"] == "GET" and access["path"] == "/api/v1/x"
    assert access["status"] == 201 and access["bytes"] == 17 and access["duration_ms"] == 12
    assert access["remote_addr"] == "127.0.0.1" and access["user_agent"] == "bot/1.0"


def test_the_access_log_carries_the_request_id_of_the_apps_records(tmp_path):
    env = {
        "DJANGO_ENV": "local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "HITL_VAR_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
        "ENV_FILE": os.devnull,
    }
    with running_gunicorn(env, tmp_path, workers=1) as server:
        given = requests.get(f"{server.url}/admin/login/", headers={"X-Request-ID": "trace-4711"}, timeout=10)
        made = requests.get(f"{server.url}/admin/login/", timeout=10)
    assert given.headers["X-Request-ID"] == "trace-4711"
    access = [json.loads(line) for line in server.log().splitlines() if '"gunicorn.access"' in line]
    ids = [line.get("request_id") for line in access if line["path"] == "/admin/login/"]
    assert "trace-4711" in ids and made.headers["X-Request-ID"] in ids
    assert any(line["message"].endswith(" trace-4711") for line in access)
