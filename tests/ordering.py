"""The order tests are handed to pytest-xdist's processes: the slow ones first.

The tests that start servers, Celery workers, browsers or other processes take from seconds to over
a minute each; the rest take well under a second. xdist hands tests out in collection order, so a
slow test collected late runs on one process while the others sit idle at the end of the run.
Sorting them to the front of their group lets the fast tests fill the gaps instead.

The tests that start processes go first whatever their database use; the rest keep pytest-django's
order (database tests in a transaction, then transactional ones, then those without a database),
slowest first inside each group. Putting transactional tests before ones in a transaction is safe
here: a transactional test's flush empties the tables, and no test depends on rows a migration
creates (the post-migrate signal makes content types and permissions again).

Only on PostgreSQL. On the SQLite fallback (a machine without the servers) the live server shares
the test process's in-memory database connection with its threads, and a test in a transaction
that runs after such a test on the same process finds that connection broken; pytest-django's
order, transactional tests last, is what keeps them apart there.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.db import connection

# Fixtures that start a Celery worker or a browser, in the order of how long such tests run.
WORKER_FIXTURES = {"celery_worker", "start_celery_worker", "rabbitmq_worker", "fault_worker", "own_broker"}
BROWSER_FIXTURES = {"browser", "page"}
# What a module that starts processes of its own calls.
PROCESS_CALLS = ("subprocess", "Popen", "running_gunicorn", "running_worker", "running_beat")


@cache
def _starts_processes(path: Path) -> bool:
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(call in source for call in PROCESS_CALLS)


def _django_group(item) -> int:
    """pytest-django's own grouping: 0 in a transaction, 1 transactional, 2 without a database."""
    fixtures = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    kwargs = marker.kwargs if marker else {}
    transactional = bool(kwargs.get("transaction") or kwargs.get("reset_sequences"))
    transactional = transactional or bool(fixtures & {"transactional_db", "live_server"})
    if transactional:
        return 1
    return 0 if marker or "db" in fixtures else 2


def cost(item) -> int:
    """0 for the slowest kind of test, 3 for a plain one."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & WORKER_FIXTURES or "faults" in item.path.parts:
        return 0
    if fixtures & BROWSER_FIXTURES or _starts_processes(item.path):
        return 1
    if "live_server" in fixtures:
        return 2
    return 3


def slow_first(items: list) -> None:
    if connection.vendor != "postgresql":
        return

    def key(item):
        slowest = cost(item)
        return (0 if slowest <= 1 else 1, _django_group(item), slowest)

    items.sort(key=key)
