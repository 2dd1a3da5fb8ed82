"""Nothing leaks through side doors: the admin's view-on-site shortcut, logs, the escalation
timeline, the worker ping."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import logging.config
import re
import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from conversations.models import CallbackAttempt, Escalation, EscalationEvent
from core.logging import JsonFormatter, RedactSecretsFilter
from core.models import WorkerPing
from tests.factories import ConnectionFactory, InboxFactory, escalation


@pytest.fixture
def foreign(tenant_b):
    return escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_b, name="Globex")))


@pytest.mark.parametrize("debug", [False, True])
def test_view_on_site_answers_one_404_for_foreign_missing_and_malformed(
    client, admin_a, foreign, settings, debug
):
    settings.DEBUG = debug
    client.force_login(admin_a)
    ct = ContentType.objects.get_for_model(Escalation).pk
    paths = [
        f"/admin/r/{ct}/{foreign.pk}/",  # another organisation's escalation
        f"/admin/r/{ct}/{uuid.uuid4()}/",  # no such escalation
        f"/admin/r/{ct}/not-an-id/",  # malformed id
        f"/admin/r/999999/{foreign.pk}/",  # no such content type
        f"/admin/r/x{ct}/{foreign.pk}/",  # malformed content type
    ]
    answers = []
    for path in paths:
        response = client.get(path)
        # Only the path asked for may differ (DEBUG's page quotes it, with and without its slash).
        body = response.content.decode().replace(path, "PATH").replace(path.lstrip("/"), "PATH")
        # The page's sign-out form carries a CSRF token, masked anew on every response.
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
        answers.append((response.status_code, body))

    assert {status for status, _ in answers} == {404}
    assert all(body == answers[0][1] for _, body in answers), "the 404s differ"
    assert str(foreign.pk) not in answers[0][1]


def test_view_on_site_needs_a_staff_login(client, foreign):
    ct = ContentType.objects.get_for_model(Escalation).pk
    response = client.get(f"/admin/r/{ct}/{foreign.pk}/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def _configured_logging(stream):
    """The project's LOGGING with every stream handler writing to `stream`."""
    config = json.loads(json.dumps(django_settings.LOGGING))
    for handler in config["handlers"].values():
        if handler["class"] == "logging.StreamHandler":
            handler["stream"] = stream
    logging.config.dictConfig(config)


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    _configured_logging(stream)
    yield stream
    logging.config.dictConfig(django_settings.LOGGING)


def test_development_server_access_log_redacts_query_credentials(log_stream):
    line = (
        "GET /connections/oauth/callback/?code=oauth-code-1&state=st-2&access_token=at-3"
        "&client_secret=cs-4&hapikey=hk-5&token=tk-6 HTTP/1.1"
    )
    # What runserver's request handler logs for every request.
    logging.getLogger("django.server").info('"%s" %s %s', line, "200", "12", extra={"status_code": 200})

    output = log_stream.getvalue()
    assert "/connections/oauth/callback/" in output
    for secret in ("oauth-code-1", "st-2", "at-3", "cs-4", "hk-5", "tk-6"):
        assert secret not in output


def test_a_request_object_in_a_structured_log_is_redacted(rf):
    request = rf.get("/connections/oauth/callback/", {"code": "oauth-code-1", "state": "st-2"})
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Bad request", None, None)
    record.request = request
    RedactSecretsFilter().filter(record)
    output = JsonFormatter().format(record)
    assert "oauth-code-1" not in output and "st-2" not in output


def test_timeline_shows_callback_urls_without_their_query(client, admin_a, tenant_a):
    esc = escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme")))
    event = EscalationEvent.objects.create(
        escalation=esc,
        sequence=1,
        type="escalation.opened",
        data={},
        occurred_at=timezone.now(),
        dedupe_key="o",
    )
    CallbackAttempt.objects.create(
        event=event, url="https://bot.example.com/hook?token=bot-secret-9", status_code=200, duration_ms=5
    )
    client.force_login(admin_a)
    page = client.get(reverse("admin:conversations_escalation_change", args=[esc.pk])).content.decode()
    assert "https://bot.example.com/hook" in page
    assert "bot-secret-9" not in page


def test_worker_ping_is_for_superusers_only(client, admin_a):
    client.force_login(admin_a)
    assert client.post(reverse("core:worker-ping")).status_code == 302
    assert not WorkerPing.objects.exists()


def test_old_worker_pings_are_pruned(client, superuser, django_capture_on_commit_callbacks):
    old = WorkerPing.objects.create()
    WorkerPing.objects.filter(pk=old.pk).update(requested_at=timezone.now() - dt.timedelta(days=2))
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("core:worker-ping"))
    assert response.status_code == 202
    assert list(WorkerPing.objects.values_list("pk", flat=True)) == [uuid.UUID(response.json()["id"])]
