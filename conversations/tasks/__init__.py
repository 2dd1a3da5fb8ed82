"""Celery tasks of the escalation relay, one module per job (Celery autodiscovers this package)."""

from conversations.tasks.briefing import *  # noqa: F403
from conversations.tasks.callbacks import *  # noqa: F403
from conversations.tasks.message_status import *  # noqa: F403
from conversations.tasks.publishing import *  # noqa: F403
from conversations.tasks.queue import *  # noqa: F403
from conversations.tasks.watchdogs import *  # noqa: F403
from conversations.tasks.webhooks import *  # noqa: F403
