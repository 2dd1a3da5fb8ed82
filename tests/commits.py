"""Counting durable commits (each one a WAL flush on PostgreSQL) in statements captured by Django's
`CaptureQueriesContext`: the COMMIT of every transaction, and every write run in autocommit, which
commits on its own. Reads in autocommit commit nothing worth counting."""

from __future__ import annotations

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
        elif not in_transaction and _writes(sql):
            commits += 1
    return commits


def _writes(sql: str) -> bool:
    # a WITH statement writes when one of its parts does (webhook storage's single INSERT chain)
    return sql.startswith(_WRITES) or (
        sql.startswith("WITH") and any(f"{verb} " in sql for verb in ("INSERT INTO", "UPDATE", "DELETE FROM"))
    )


def statements(captured_queries: list[dict]) -> list[str]:
    """The statements that do work: BEGIN, COMMIT and savepoints left out."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return [q["sql"] for q in captured_queries if not q["sql"].lstrip().upper().startswith(control)]
