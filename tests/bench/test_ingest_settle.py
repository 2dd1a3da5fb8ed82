"""After the ingest scenario, the events it left pending are settled and their table left as a
deployment's autovacuum would leave it, so the next scenario (the relay) does not measure reads
wading through the dead index entries of 200,000 rows just updated."""

import pytest
from django.db import connection

from bench.scenarios.ingest import _settle_events
from conversations.models import HubSpotEvent
from tests.factories import HubSpotEventFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def vacuum_state(table: str) -> tuple[bool, int]:
    """Whether the table was vacuumed by hand, and how many of its pages are marked all-visible
    (only a VACUUM marks them). Dead-row counts are no proof either way: a backend reports its
    UPDATE's dead rows to the statistics up to a second late, after a VACUUM's report."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = %s", [table])
        vacuumed = cursor.fetchone()[0]
        cursor.execute("SELECT relallvisible FROM pg_class WHERE relname = %s", [table])
        return vacuumed, cursor.fetchone()[0]


def test_the_events_left_pending_are_settled_and_vacuumed():
    HubSpotEventFactory.create_batch(300, status=HubSpotEvent.Status.PENDING)

    _settle_events()

    assert not HubSpotEvent.objects.filter(status=HubSpotEvent.Status.PENDING).exists()
    assert HubSpotEvent.objects.filter(status=HubSpotEvent.Status.IGNORED).count() == 300
    # Each settled row left a dead version behind, and a dead entry in the pending events' partial
    # index: ANALYZE alone keeps them, VACUUM removes them and marks the pages all-visible.
    vacuumed, all_visible_pages = vacuum_state(HubSpotEvent._meta.db_table)
    assert vacuumed
    assert all_visible_pages > 0
