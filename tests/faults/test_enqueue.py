"""core/jobs.py: a broker that cannot take a task is logged, never raised, and the log does not carry
the broker's credentials; on-commit jobs wait for the commit; countdowns never run eagerly."""

import logging
from unittest import mock

import pytest

from core import jobs
from tests.faults.redis_server import free_port
from tests.jobs import captured_jobs
from tests.worker import using_broker


def test_a_refused_broker_is_logged_without_its_password(caplog):
    dead = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"  # nothing listens there
    caplog.set_level(logging.WARNING, logger="core.jobs")
    with using_broker(dead):
        assert jobs.enqueue(jobs.PUBLISH_ESCALATION, "e-1", what="publish of escalation e-1") is False

    [line] = [r.getMessage() for r in caplog.records if r.name == "core.jobs"]
    assert line.startswith("broker unavailable: publish of escalation e-1 left for the sweep")
    assert "OperationalError" in line and "s3cret" not in line


def test_credentials_quoted_by_a_transport_are_scrubbed(caplog):
    calls = []

    def refusing(task, args, countdown):
        calls.append(args)
        raise ConnectionError("cannot reach amqp://hitl:s3cret-pass@rabbit:5672/hitl")

    caplog.set_level(logging.WARNING, logger="core.jobs")
    with mock.patch("core.jobs._send", refusing):
        assert jobs.enqueue(jobs.CLOSE_HUBSPOT_THREAD, "e-2", what="thread close of escalation e-2") is False
    assert calls == [("e-2",)]
    assert "s3cret" not in caplog.text and "amqp://***@rabbit:5672/hitl" in caplog.text


@pytest.mark.django_db
def test_enqueue_on_commit_waits_for_the_commit(django_capture_on_commit_callbacks):
    with captured_jobs() as sent, django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue_on_commit(jobs.PUBLISH_ESCALATION, "e-3", what="publish of escalation e-3")
        assert sent == []
    assert [(job.name, job.args) for job in sent] == [(jobs.PUBLISH_ESCALATION, ("e-3",))]


def test_a_countdown_is_left_to_the_sweep_when_eager_and_queued_from_a_worker():
    with captured_jobs() as sent:
        assert jobs.enqueue(jobs.DELIVER_CALLBACKS, "e-4", countdown=30, what="retry") is False
    assert sent == []
    with captured_jobs(as_worker=True) as sent:
        assert jobs.enqueue(jobs.DELIVER_CALLBACKS, "e-4", countdown=-3, what="retry") is True
    assert [(job.args, job.countdown) for job in sent] == [(("e-4",), 0)]


def test_every_named_job_is_a_registered_task():
    names = [
        value
        for key, value in vars(jobs).items()
        if key.isupper() and isinstance(value, str) and "." in value
    ]
    assert len(names) >= 8
    for name in names:
        assert jobs._task(name).name == name


def test_threads_queueing_their_first_job_at_once_wait_for_one_discovery():
    """Found by `make bench`: gunicorn's threads in a fresh worker all queued their first job at
    once; a thread finding autodiscovery already under way looked the task up before it was
    registered (NotRegistered, a 500 for a webhook already stored)."""
    import threading
    import time

    from hitl_portal.celery import app

    name = "tests.faults.test_enqueue.discovered_late"
    started = threading.Event()
    registered = object()  # stands for the task discovery registers

    def discovery():
        # Like Celery's: a second caller while the first is still importing returns at once.
        if started.is_set():
            return
        started.set()
        time.sleep(0.2)
        app.tasks[name] = registered

    found, errors = [], []

    def first_job():
        try:
            found.append(jobs._task(name))
        except Exception as exc:
            errors.append(exc)

    with mock.patch.object(app.loader, "import_default_modules", side_effect=discovery):
        threads = [threading.Thread(target=first_job) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    app.tasks.pop(name, None)
    assert errors == [] and found == [registered, registered]
