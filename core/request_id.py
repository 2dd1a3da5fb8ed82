"""One id per request, following its work everywhere: logs, queued tasks, timeline, callbacks.

* `RequestIdMiddleware` takes the client's `X-Request-ID` when it is sane (a proxy, a bot or HubSpot
  may set one) or makes a UUID, keeps it for the request and answers it back in `X-Request-ID`.
* `RequestIdFilter` (a logging filter) puts it on every log record as `request_id`.
* Celery: a task published while an id is current carries it in its headers, and the worker makes
  it current while the task runs, so what the task logs and records has the same id.
* Models that record what a request caused (events for the bot, bot API requests, webhook
  receipts) store `current()`; the callback of an event sends it to the bot as `X-Request-ID`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun

HEADER = "X-Request-ID"
TASK_HEADER = "hitl_request_id"
MAX_LENGTH = 200
_SANE = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("hitl_request_id", default="")


def current() -> str:
    """The id of the request (or task) being handled, "" outside of one."""
    return _current.get()


def accept(value: str | None) -> str:
    """The client's id if it is safe to log and echo (no spaces, control characters, or HTML), else ""."""
    value = (value or "").strip()
    return value if _SANE.fullmatch(value) else ""


def new() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accept(request.headers.get(HEADER)) or new()
        request.request_id = request_id
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current() or "-"
        return True


@before_task_publish.connect
def _carry_into_task(headers=None, **kwargs) -> None:
    request_id = current()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_task_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect
def _enter_task(task_id=None, task=None, **kwargs) -> None:
    request_id = accept(getattr(task.request, TASK_HEADER, None) if task is not None else None)
    if request_id and task_id:
        _task_tokens[task_id] = _current.set(request_id)


@task_postrun.connect
def _leave_task(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        # Set in another context (a thread pool): leave that context alone.
        with contextlib.suppress(ValueError):
            _current.reset(token)
