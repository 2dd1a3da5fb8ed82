"""The benchmark's hooks in the server exist only when HITL_BENCH is on."""

import importlib

import pytest
from django.test import Client
from django.urls import clear_url_caches

from core.bench import QUERY_COUNT_HEADER

BASELINE = "/bench/baseline/"


def _reload_urls():
    import hitl_portal.urls

    importlib.reload(hitl_portal.urls)
    clear_url_caches()


@pytest.fixture
def bench_on(settings):
    settings.HITL_BENCH = True
    settings.MIDDLEWARE = ["core.bench.QueryCountMiddleware", *settings.MIDDLEWARE]
    _reload_urls()
    yield settings
    settings.HITL_BENCH = False
    _reload_urls()


def test_off_by_default(settings):
    from hitl_portal.settings import base

    assert base.HITL_BENCH is False
    assert "core.bench.QueryCountMiddleware" not in base.MIDDLEWARE


@pytest.mark.django_db
def test_no_baseline_url_and_no_query_header_by_default(client):
    response = client.get(BASELINE)
    assert response.status_code == 404
    assert QUERY_COUNT_HEADER not in response
    assert QUERY_COUNT_HEADER not in client.get("/admin/login/")


@pytest.mark.django_db
def test_baseline_answers_204_without_queries(bench_on, client):
    response = client.get(BASELINE)
    assert response.status_code == 204
    assert response.content == b""
    assert response[QUERY_COUNT_HEADER] == "0"
    # Like the webhooks it stands beside, it takes POSTs without a CSRF token.
    posted = Client(enforce_csrf_checks=True).post(BASELINE, data=b"[]", content_type="application/json")
    assert posted.status_code == 204


@pytest.mark.django_db
def test_query_header_counts_the_requests_queries(bench_on, client, superuser):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(superuser)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/")
    assert response.status_code == 200
    assert int(response[QUERY_COUNT_HEADER]) == len(captured.captured_queries) > 0
