"""Leases on rows that a worker renews while it works: the thread that moves a lease's end ahead.

A claim with a lease (a callback attempt's `next_attempt_at`, a processing task's
`HubSpotEvent.claimed_until`) says "someone is working on this until"; if that worker dies,
nothing renews it and a sweep takes the row back once the lease has passed. While the worker is
alive, a thread of its own renews the lease every third of it, however long the work takes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

logger = logging.getLogger(__name__)


def renewable() -> bool:
    """Whether the caller's leases can be renewed from another thread.

    The renewing thread has its own database connection: it cannot see (and would wait on) rows
    the caller changed in a transaction still open, and SQLite would lock its whole database for
    each renewal. Workers run in autocommit on PostgreSQL."""
    return connection.features.has_select_for_update and not connection.in_atomic_block


@contextmanager
def renewing(renew: Callable[[], bool], *, every: float, name: str, what: str) -> Iterator[None]:
    """While the block runs, a thread calls `renew` every `every` seconds until it returns False
    (the rows are no longer ours). A failing renewal is logged and ends the renewals: the lease
    then expires as a dead worker's would."""
    done = threading.Event()

    def loop() -> None:
        try:
            while not done.wait(every):
                if not renew():
                    return
        except Exception:
            logger.exception("could not renew the lease of %s; it expires", what)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
