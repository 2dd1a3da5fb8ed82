"""Queue a Celery task for work already stored, tolerating a broker that cannot take it.

The work a request hands to a task (publish the bot's messages, close a HubSpot thread, process
stored webhook events) is in PostgreSQL before the task is queued, and a beat sweep finds whatever
no task took care of. So a broker that is down or restarting must not turn a request whose data
was stored into a 500 (the caller would retry into rows already there): the failure is logged,
without the broker's URL or any credential, and the sweep picks the work up once the broker is
back. Tasks are queued after commit, so a worker never looks for rows not committed yet.
"""

from __future__ import annotations

import logging
import re

from django.db import transaction

log = logging.getLogger(__name__)

# user:password@ in a URL an error message may quote (redis-py and py-amqp name host:port only,
# but a transport's message is not ours to trust).
_CREDENTIALS = re.compile(r"://[^/@\s]*@")


def enqueue(task, *args, what: str) -> bool:
    """`task.delay(*args)` now; False (logged) if the broker would not take it.

    `what` names the work for the log ("publish of escalation …"), never a secret. In eager mode
    (no broker) the task runs here; its own failures are not raised (CELERY_TASK_EAGER_PROPAGATES
    is off) and leave its rows owed for the sweep, like a lost task.
    """
    try:
        task.delay(*args)
    except Exception as exc:  # kombu.OperationalError, redis/amqp connection errors, timeouts …
        # The exception's class and (scrubbed) text, no traceback: the cause is the broker, not us.
        reason = _CREDENTIALS.sub("://***@", str(exc))
        log.warning("broker unavailable: %s left for the sweep (%s: %s)", what, type(exc).__name__, reason)
        return False
    return True


def enqueue_on_commit(task, *args, what: str) -> None:
    """`enqueue` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args, what=what))
