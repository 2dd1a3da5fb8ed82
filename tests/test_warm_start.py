"""A web process is ready when gunicorn starts serving from it (hitl_portal/warmup.py).

Without the warm-up, each new gunicorn worker (at a deploy, a restart, and every
GUNICORN_MAX_REQUESTS) imported the URLconf, with every view, on its first request, ran Celery's
task discovery, with Django's system checks, on its first queued job, and imported the Redis client
and Celery's producer side on its first cache call and publish: a few hundred milliseconds on the
first webhooks it answered, which `make bench` saw as the relay's p99 at 10/s.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The project's packages and the heavy libraries the views pull in; Django's own modules are left
# out (the test client below imports some of them itself).
OURS = ("hitl_portal", "conversations", "connections", "core", "tenants", "sandbox", "rest_framework")

FIRST_REQUEST = f"""
import json, sys
from hitl_portal.wsgi import application
from hitl_portal.celery import app
from core import jobs

registered = jobs.DRAIN_HUBSPOT_EVENTS in app.tasks and jobs.PUBLISH_ESCALATION in app.tasks
before = set(sys.modules)
from django.test import Client

response = Client(HTTP_HOST="127.0.0.1").post(
    "/webhooks/hubspot/00000000-0000-0000-0000-000000000000/channel/", b"[]",
    content_type="application/json",
)
new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in {OURS!r})
print(json.dumps({{"registered": registered, "status": response.status_code, "imported": new}}))
"""


# The first cache call and the first publish, with Redis as both cache and broker, on a port where
# nothing listens: the process must start all the same (the warm-up opens no connection), and
# neither call may be the one that imports the Redis client or Celery's producer side.
FIRST_JOB = """
import json, sys
from hitl_portal.wsgi import application
from core import jobs
from django.core.cache import cache

before = set(sys.modules)
try:
    cache.add("warm-start-test", 1, 5)
except Exception:
    pass
queued = jobs.enqueue(jobs.DRAIN_HUBSPOT_EVENTS, what="a drain")
new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("redis", "kombu", "celery"))
print(json.dumps({"queued": queued, "imported": new}))
"""
NOWHERE = "redis://127.0.0.1:1/0"


def _fresh_web_process(code: str = FIRST_REQUEST, **env_vars: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "GUNICORN_")) and k not in ("CACHE_URL", "CELERY_BROKER_URL")
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env | {"ENV_FILE": os.devnull, "DJANGO_ENV": "local"} | env_vars,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first_request() -> dict:
    return _fresh_web_process()


def test_the_first_request_of_a_new_web_process_imports_none_of_the_app(first_request):
    assert first_request["status"] == 401  # unsigned: refused, after routing to the webhook view
    assert first_request["imported"] == []


def test_a_new_web_process_knows_its_tasks_before_its_first_job(first_request):
    assert first_request["registered"] is True


def test_the_first_cache_call_and_publish_import_nothing():
    seen = _fresh_web_process(FIRST_JOB, CACHE_URL=NOWHERE, CELERY_BROKER_URL=NOWHERE)
    assert seen["queued"] is False  # the broker is down: logged and left for the sweep
    assert seen["imported"] == []
