"""Behind gunicorn (production's server, several worker processes), every scrape of /metrics reports
the whole host's counts, whichever worker answers it: prometheus_client's multiprocess mode."""

import uuid

import pytest
import requests

from tests.gunicorn import running_gunicorn
from tests.observability.scrape import scrape, total
from tests.worker import process_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

TOKEN = "gunicorn-scrape-token-0123456789"
REQUESTS = 30


def test_every_scrape_adds_up_all_gunicorn_workers(tmp_path):
    metrics_dir = tmp_path / "metrics"  # this server's own directory: only its counts
    env = process_env() | {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with running_gunicorn(env, tmp_path, workers=3) as server:
        for _ in range(REQUESTS):
            # A new connection each time, so the workers share the requests.
            answer = requests.post(
                f"{server.url}/webhooks/hubspot/{uuid.uuid4()}/app/",
                data=b"[]",
                headers={"Connection": "close", "Content-Type": "application/json"},
                timeout=10,
            )
            assert answer.status_code == 401  # unsigned
        seen = [
            total(scrape(server.url, TOKEN), "hitl_webhook_requests_total", outcome="bad_signature")
            for _ in range(8)
        ]
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 401

    assert seen == [REQUESTS] * 8
    # Several workers counted (one file per process): the totals above are sums, not one's share.
    pids = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(pids) >= 2, pids
