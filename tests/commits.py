"""Counting durable commits (each one a WAL flush on PostgreSQL) in statements captured by Django's
`CaptureQueriesContext`: the COMMIT of every transaction, and every write run in autocommit, which
commits on its own. Reads in autocommit commit nothing worth counting, and neither does a write
in autocommit that changed no row (PostgreSQL assigns it no transaction id: nothing to flush), when
the statements were captured with `capturing_rows` and so carry their row counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.test.utils import CaptureQueriesContext

_WRITES = ("INSERT", "UPDATE", "DELETE")


def durable_commits(captured_queries: list[dict]) -> int:
    commits = 0
    in_transaction = False
    for query in captured_queries:
        sql = query["sql"].lstrip().upper()
        if sql.startswith("BEGIN"):
            in_transaction = True
        elif sql.startswith(("COMMIT", "ROLLBACK")):
            commits += sql.startswith("COMMIT")
            in_transaction = False
        elif not in_transaction and _writes(sql) and query.get("rows") != 0:
            commits += 1
    return commits


@contextlib.contextmanager
def capturing_rows(connection) -> Iterator[CaptureQueriesContext]:
    """`CaptureQueriesContext` whose captured statements also carry "rows", the cursor's rowcount
    (BEGIN and COMMIT, which Django logs without running them through a cursor, carry none)."""
    counts: list[int] = []

    def record(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        counts.append(context["cursor"].rowcount)
        return result

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(record):
        yield captured
    ran = iter(counts)
    for query in captured.captured_queries:
        if query["sql"].lstrip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            query["rows"] = next(ran, None)


def _writes(sql: str) -> bool:
    # a WITH statement writes when one of its parts does (webhook storage's single INSERT chain)
    return sql.startswith(_WRITES) or (
        sql.startswith("WITH") and any(f"{verb} " in sql for verb in ("INSERT INTO", "UPDATE", "DELETE FROM"))
    )


def statements(captured_queries: list[dict]) -> list[str]:
    """The statements that do work: BEGIN, COMMIT and savepoints left out."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return [q["sql"] for q in captured_queries if not q["sql"].lstrip().upper().startswith(control)]
