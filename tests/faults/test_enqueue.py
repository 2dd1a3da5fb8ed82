"""conversations/enqueue.py: a broker that cannot take a task is logged, never raised, and the
log does not carry the broker's credentials."""

import logging

import pytest

from conversations.enqueue import enqueue, enqueue_on_commit
from conversations.tasks.publishing import publish_escalation
from tests.faults.redis_server import free_port
from tests.worker import using_broker


def test_a_refused_broker_is_logged_without_its_password(caplog):
    dead = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"  # nothing listens there
    caplog.set_level(logging.WARNING, logger="conversations.enqueue")
    with using_broker(dead):
        assert enqueue(publish_escalation, "e-1", what="publish of escalation e-1") is False

    [line] = [r.getMessage() for r in caplog.records if r.name == "conversations.enqueue"]
    assert line.startswith("broker unavailable: publish of escalation e-1 left for the sweep")
    assert "OperationalError" in line and "s3cret" not in line


class _Refusing:
    """A task whose broker quotes its URL, credentials and all, in the error."""

    def __init__(self):
        self.calls = []

    def delay(self, *args):
        self.calls.append(args)
        raise ConnectionError("cannot reach amqp://hitl:s3cret-pass@rabbit:5672/hitl")


def test_credentials_quoted_by_a_transport_are_scrubbed(caplog):
    task = _Refusing()
    caplog.set_level(logging.WARNING, logger="conversations.enqueue")
    assert enqueue(task, "e-2", what="thread close of escalation e-2") is False
    assert task.calls == [("e-2",)]
    assert "s3cret" not in caplog.text and "amqp://***@rabbit:5672/hitl" in caplog.text


@pytest.mark.django_db
def test_enqueue_on_commit_waits_for_the_commit(django_capture_on_commit_callbacks):
    sent = []

    class _Task:
        @staticmethod
        def delay(*args):
            sent.append(args)

    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(_Task, "e-3", what="publish of escalation e-3")
        assert sent == []
    assert sent == [("e-3",)]
