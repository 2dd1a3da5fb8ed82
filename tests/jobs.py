"""What core.jobs queued, recorded instead of sent: for tests of who queues what, when."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from hitl_portal.celery import app as celery_app


@dataclass(frozen=True)
class Job:
    name: str
    args: tuple
    countdown: float | None


@contextmanager
def captured_jobs(*, as_worker: bool = False):
    """Within the block, `core.jobs` records each job in the yielded list instead of sending it.

    as_worker=True: the process behaves like a worker with a broker (not eager), so countdowns are
    queued rather than left to the sweep."""
    sent: list[Job] = []
    eager = celery_app.conf.task_always_eager
    if as_worker:
        celery_app.conf.task_always_eager = False
    try:
        with mock.patch(
            "core.jobs._send", lambda task, args, countdown: sent.append(Job(task.name, args, countdown))
        ):
            yield sent
    finally:
        celery_app.conf.task_always_eager = eager


def names(jobs: list[Job]) -> list[str]:
    return [job.name.rsplit(".", 1)[-1] for job in jobs]
