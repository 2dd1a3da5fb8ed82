"""No table of the pipeline keeps an index that another index already leads with.

Every INSERT of an event, message, bot event or request record updates each index of its table;
an index whose columns open another index answers no query the longer one cannot. Django gives
every foreign key an index of its own, so a key that opens a unique constraint or a composite
index was written twice (migration 0017 dropped seven such indexes).
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.postgres]

# Pairs (index, the index that leads with the same columns and operator classes) on a table of
# this app. Partial indexes are left out on both sides: they hold some rows only. A unique index
# is never the redundant one: it enforces something.
REDUNDANT = """
SELECT a.indexrelid::regclass::text, b.indexrelid::regclass::text
FROM pg_index a
JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
WHERE a.indrelid::regclass::text LIKE 'conversations\\_%'
  AND NOT a.indisunique
  AND a.indpred IS NULL AND b.indpred IS NULL
  AND a.indexprs IS NULL AND b.indexprs IS NULL
  AND b.indnkeyatts >= a.indnkeyatts
  AND (b.indkey::int2[])[0:a.indnkeyatts - 1] = (a.indkey::int2[])[0:a.indnkeyatts - 1]
  AND (b.indclass::oid[])[0:a.indnkeyatts - 1] = (a.indclass::oid[])[0:a.indnkeyatts - 1]
  AND (a.indnkeyatts < b.indnkeyatts OR a.indexrelid > b.indexrelid)
ORDER BY 1
"""


def redundant_indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(REDUNDANT)
        return cursor.fetchall()


def foreign_keys(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [table]
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_no_index_of_the_pipeline_is_the_head_of_another():
    assert redundant_indexes() == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_drops_only_the_indexes_and_unapplies():
    """The foreign keys stay as they were (Django's own AlterField would drop and re-add them,
    checking every row under a lock); unapplying builds the seven indexes again."""
    tables = ["conversations_hubspotevent", "conversations_escalationmessage", "conversations_botapirequest"]
    keys = {table: foreign_keys(table) for table in tables}
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("conversations")
    try:
        executor.migrate([("conversations", "0016_escalation_queue_indexes")])
        back = redundant_indexes()
        assert len({index for index, _longer in back}) == 7
        assert ("conversations_hubspotevent_app_id_296464c9", "hubspotevent_unique_per_app") in back
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
        assert redundant_indexes() == []
        assert {table: foreign_keys(table) for table in tables} == keys
    finally:
        MigrationExecutor(connection).migrate(latest)
