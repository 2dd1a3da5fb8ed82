"""/metrics: off without METRICS_TOKEN, bearer-protected, Prometheus text, bounded labels; and the
webhook refusals and bot API refusals counted by outcome."""

import pytest

from core import metrics
from tests.factories import HubSpotAppFactory, TenantFactory
from tests.observability.scrape import parse, total
from tests.webhooks.helpers import deliver, fixture_names, load_fixture

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token"


def get(client, **headers):
    return client.get("/metrics", headers=headers)


def test_disabled_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert get(client, Authorization="Bearer ").status_code == 404
    assert get(client).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
def test_refused_without_the_right_bearer_token(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    response = get(client, Authorization=authorization) if authorization else get(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"hitl_" not in response.content


def test_prometheus_text_with_the_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = get(client, Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    samples = parse(response.content.decode())
    assert ("hitl_escalations_active", (("status", "open"),)) in samples
    assert ("hitl_ready", (("check", "database"),)) in samples
    # Eager (embedded) install: there is no broker queue to measure.
    assert not any(name == "hitl_celery_queue_depth" for name, _ in samples)


def test_post_is_not_allowed(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def scraped(client, settings):
    settings.METRICS_TOKEN = TOKEN
    return parse(get(client, Authorization=f"Bearer {TOKEN}").content.decode())


def test_webhook_outcomes_are_counted_per_endpoint(client, settings):
    app = HubSpotAppFactory(tenant=TenantFactory())
    payload = load_fixture(next(n for n in fixture_names() if n.startswith("conversation.creation")))
    before = scraped(client, settings)

    assert deliver(client, app, "app", payload).status_code == 200  # accepted
    assert deliver(client, app, "app", payload).status_code == 200  # the same events again
    bad = {"X-HubSpot-Signature-v3": "bm9wZQ==", "X-HubSpot-Request-Timestamp": "1"}
    assert deliver(client, app, "app", payload, headers=bad).status_code == 401
    assert deliver(client, app, "channel", body=b"{not json").status_code == 400
    settings.HITL_WEBHOOK_MAX_BODY_BYTES = 100
    assert deliver(client, app, "channel", body=b"[" + b" " * 200 + b"]").status_code == 413

    after = scraped(client, settings)

    def grew(**labels):
        name = "hitl_webhook_requests_total"
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew(endpoint="app", outcome="accepted") == 1
    assert grew(endpoint="app", outcome="duplicate") == 1
    assert grew(endpoint="app", outcome="bad_signature") == 1
    assert grew(endpoint="channel", outcome="malformed") == 1
    assert grew(endpoint="channel", outcome="too_large") == 1


def test_tenant_label_only_behind_the_setting(settings, tenant_a):
    class Connection:
        tenant = tenant_a

    settings.METRICS_TENANT_LABELS = False
    metrics.escalation_started(Connection())
    assert metrics.ESCALATIONS_STARTED.labels("acme")._value.get() == 0
    settings.METRICS_TENANT_LABELS = True
    before = metrics.ESCALATIONS_STARTED.labels("acme")._value.get()
    metrics.escalation_started(Connection())
    assert metrics.ESCALATIONS_STARTED.labels("acme")._value.get() == before + 1


def test_refusal_reasons_are_bounded(monkeypatch):
    monkeypatch.setattr(metrics, "_refusal_reasons", set())  # this process's later tests start afresh

    class View:
        basename = "escalation"
        action = "create"
        request = None

    class SandboxView:
        basename = "sandbox-thread"
        action = "create"
        request = None

    before = sum(
        sample.value for family in metrics.ESCALATIONS_REFUSED.collect() for sample in family.samples
    )
    metrics.bot_api_refused(SandboxView(), 400, "invalid_request")
    after = sum(sample.value for family in metrics.ESCALATIONS_REFUSED.collect() for sample in family.samples)
    assert after == before

    for i in range(metrics.REFUSAL_REASONS + 25):
        metrics.bot_api_refused(View(), 422, f"code_{i}")
    reasons = {labels["reason"] for labels in _label_sets(metrics.ESCALATIONS_REFUSED)}
    assert len(reasons) <= metrics.REFUSAL_REASONS + 1 and "other" in reasons


def _label_sets(metric):
    return [sample.labels for family in metric.collect() for sample in family.samples]


def test_deploy_check_warns_when_metrics_would_count_one_process(settings, monkeypatch):
    from django.core.checks import registry

    from core.checks import metrics_processes

    assert metrics_processes in registry.registry.get_checks(include_deployment_checks=True)

    settings.METRICS_TOKEN = "a-long-enough-token-1234"
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert [w.id for w in metrics_processes()] == ["hitl.W001"]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/somewhere")
    assert metrics_processes() == []
    settings.METRICS_TOKEN = "short"
    assert [w.id for w in metrics_processes()] == ["hitl.W002"]
    settings.METRICS_TOKEN = ""
    assert metrics_processes() == []
