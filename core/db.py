"""Database helpers shared by services that hold row locks across HubSpot calls."""

from contextlib import nullcontext

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
