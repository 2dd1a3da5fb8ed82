"""Database helpers: short row-locking transactions, and advisory locks for work that calls HubSpot."""

import zlib
from contextlib import contextmanager, nullcontext

from django.db import connection, transaction


def row_locking():
    """The transaction that holds SELECT … FOR UPDATE locks across HubSpot calls; none on SQLite.

    SQLite has no row locks, and a transaction there pins a read snapshot: held across an HTTP
    call to the sandbox served by the same install (`make run`), the sandbox's write makes our
    later write fail ("database is locked"), or, outside WAL mode, the call time out. The embedded
    install runs one process with eager tasks, so there is no second worker for a lock to keep out.
    On SQLite `select_for_update()` outside a transaction is a no-op, so callers need no branch.
    """
    return transaction.atomic() if connection.features.has_select_for_update else nullcontext()


@contextmanager
def advisory_lock(name: str, key: int):
    """Serialize one piece of work across processes without holding a row lock or a transaction.

    A PostgreSQL session-level advisory lock on (`name`, `key`): taken in autocommit, so the rows
    the work reads and writes stay free for everyone else (an admin saving the connection, a
    webhook, `remove_inbox`) while it waits on HubSpot, and each write inside commits at once.
    Used where "look at HubSpot, then create" must not run twice at once (registration): the
    second caller waits here, then re-reads what the first one recorded. A killed worker's lock
    goes with its database session. SQLite (`make run`, one process) needs none. Call it outside
    any transaction: inside one, the rows written under it stay locked until that one ends.
    """
    if connection.vendor != "postgresql":
        yield
        return
    namespace = zlib.crc32(name.encode()) & 0x7FFFFFFF
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [namespace, key & 0x7FFFFFFF])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key & 0x7FFFFFFF])
