"""The one way work is queued: by task name, tolerating a broker that cannot take it.

Services record their work in PostgreSQL first (an event owed to the bot, a message to publish, a
stored webhook event, a registration to run) and then hand it here by the task's name; they never
import a task module (tests/test_job_layer.py checks it). Every kind of stored work also has one
sweep that finds what no task took care of. So a broker that is down or restarting must not turn a
request whose data was stored into a 500 (the caller would retry into rows already there): the
failure is logged, without the broker's URL or any credential, and the sweep picks the work up once
the broker is back. `enqueue_on_commit` queues after the transaction commits, so a worker never
looks for rows not committed yet.

In eager mode (the embedded install and the test process: no broker) the task runs in place; its
own failures are not raised (CELERY_TASK_EAGER_PROPAGATES is off) and leave its rows owed for the
sweep, like a lost task. A countdown is never run in place: eagerly, the retry waits for the sweep
(or `manage.py deliver_callbacks --loop`), which finds the due time recorded on the row.
"""

from __future__ import annotations

import logging
import re
import threading

from django.db import transaction

log = logging.getLogger(__name__)

# user:password@ in a URL an error message may quote (redis-py and py-amqp name host:port only,
# but a transport's message is not ours to trust).
_CREDENTIALS = re.compile(r"://[^/@\s]*@")

# The tasks work is handed to, by name (the names Celery gives them: module path + function).
PUBLISH_ESCALATION = "conversations.tasks.publishing.publish_escalation"
REFRESH_QUEUE = "conversations.tasks.queue.refresh_queue"
POST_BRIEFING = "conversations.tasks.briefing.post_briefing"
CLOSE_HUBSPOT_THREAD = "conversations.tasks.publishing.close_hubspot_thread"
REPORT_MESSAGE_STATUS = "conversations.tasks.message_status.report_message_status"
PROCESS_HUBSPOT_EVENTS = "conversations.tasks.webhooks.process_hubspot_events"
DRAIN_HUBSPOT_EVENTS = "conversations.tasks.webhooks.drain_hubspot_events"
DELIVER_CALLBACKS = "conversations.tasks.callbacks.deliver_callbacks"
SWEEP_SLA_WATCHDOGS = "conversations.tasks.watchdogs.sweep_sla_watchdogs"
REGISTER_CHANNEL = "connections.tasks.register_channel"
UNREGISTER_CHANNEL = "connections.tasks.unregister_channel"
ANSWER_WORKER_PING = "core.tasks.answer_worker_ping"
DELIVER_SANDBOX_WEBHOOK = "sandbox.tasks.deliver_webhook"


# Autodiscovery runs once per process: at a web process's start (hitl_portal/warmup.py), else on
# its first job. gunicorn's threads may all get to that first job at once, and a thread finding it
# already under way must wait for it, not look the task up half-registered (found by `make bench`:
# NotRegistered, a 500 for a webhook already stored).
_discovery = threading.Lock()
_discovered = False


def load_tasks() -> None:
    """Celery's task discovery (with Django's system checks, run by Celery's Django fixup), once
    per process. A web process does it at start (hitl_portal/warmup.py), else its first job would."""
    global _discovered
    from hitl_portal.celery import app

    if not _discovered:
        with _discovery:
            if not _discovered:
                app.loader.import_default_modules()
                _discovered = True


def _task(name: str):
    from hitl_portal.celery import app

    if name not in app.tasks:
        load_tasks()
    return app.tasks[name]


def enqueue(name: str, *args, what: str, countdown: float | None = None) -> bool:
    """Queue task `name` with `args` now; False (logged) if the broker would not take it.

    `what` names the work for the log ("publish of escalation …"), never a secret. With a
    countdown, an eager process queues nothing (see the module docstring) and answers False.
    """
    task = _task(name)
    if countdown is not None and task.app.conf.task_always_eager:
        return False
    try:
        _send(task, args, None if countdown is None else max(countdown, 0))
    except Exception as exc:  # kombu.OperationalError, redis/amqp connection errors, timeouts …
        # The exception's class and (scrubbed) text, no traceback: the cause is the broker, not us.
        reason = _CREDENTIALS.sub("://***@", str(exc))
        log.warning("broker unavailable: %s left for the sweep (%s: %s)", what, type(exc).__name__, reason)
        return False
    return True


def runs_in_place() -> bool:
    """True when a job enqueued now has run (or failed) by the time `enqueue` returns: eager mode."""
    from hitl_portal.celery import app

    return bool(app.conf.task_always_eager)


def _send(task, args: tuple, countdown: float | None) -> None:
    if countdown is None:
        task.apply_async(args=args)
    else:
        task.apply_async(args=args, countdown=countdown)


def enqueue_on_commit(name: str, *args, what: str) -> None:
    """`enqueue` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(name, *args, what=what))
