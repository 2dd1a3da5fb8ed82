"""The admin scenario's seed: exactly N escalations across M tenants, reused when already there."""

from collections import Counter

import psycopg
import pytest

from bench import seed
from conversations.models import Escalation, EscalationStatus
from tenants.models import Tenant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PREFIX = "seedtest-{:03d}"


def per_tenant() -> Counter:
    rows = Escalation.objects.filter(connection__tenant__slug__startswith="seedtest-")
    return Counter(rows.values_list("connection__tenant__slug", flat=True))


def test_seeds_exactly_n_escalations_across_m_tenants_then_reuses_them():
    first = seed.seed_admin(tenants=4, escalations=103, prefix=PREFIX)
    assert first["reused"] is False
    counts = per_tenant()
    assert sorted(counts) == [PREFIX.format(i) for i in range(1, 5)]
    assert sum(counts.values()) == 103
    assert max(counts.values()) - min(counts.values()) <= 1  # spread evenly
    # Rows are real escalations: every one in its tenant's own connection and inbox, all statuses.
    for escalation in Escalation.objects.filter(connection__tenant__slug__startswith="seedtest-")[:20]:
        assert escalation.inbox.connection_id == escalation.connection_id
    statuses = set(Escalation.objects.values_list("status", flat=True))
    assert {EscalationStatus.CLOSED, EscalationStatus.OPEN, EscalationStatus.ASSIGNED} <= statuses

    again = seed.seed_admin(tenants=4, escalations=103, prefix=PREFIX)
    assert again["reused"] is True
    assert sum(per_tenant().values()) == 103


def test_a_different_size_is_seeded_again_not_added_to():
    seed.seed_admin(tenants=3, escalations=30, prefix=PREFIX)
    result = seed.seed_admin(tenants=3, escalations=45, prefix=PREFIX)
    assert result["reused"] is False
    assert sum(per_tenant().values()) == 45
    assert Tenant.objects.filter(slug__startswith="seedtest-").count() == 3


def test_sessions_log_in_a_superuser_and_one_tenants_admin(client, settings):
    settings.HITL_SUPERUSER_TWO_FACTOR = True  # as on the production profile the bench serves
    seed.seed_admin(tenants=2, escalations=4, prefix=PREFIX)
    cookies = seed.admin_sessions(PREFIX.format(1))
    assert set(cookies) == {"superuser", "tenant admin"}
    for session in cookies.values():
        client.cookies["sessionid"] = session
        response = client.get("/admin/")
        assert response.status_code == 200, response
        assert response.context["user"].is_authenticated
    admin = response.context["user"]
    assert not admin.is_superuser
    assert list(Tenant.objects.visible_to(admin).values_list("slug", flat=True)) == [PREFIX.format(1)]


@pytest.mark.django_db(transaction=False)
def test_a_kept_database_seeded_with_other_keys_is_dropped(monkeypatch):
    # given: a scratch bench database (never the real one) seeded with keys "A", holding a marker
    url = "postgres://postgres@127.0.0.1:5432/hitl_bench_keytest"
    monkeypatch.setattr(seed, "DATABASE_URL", url)
    seed.ensure_database(reseed=True, keys="A")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE marker (x int)")

    def marker_kept() -> bool:
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute("SELECT to_regclass('marker')").fetchone()[0] is not None

    # when the same keys come back, the data is kept; with other keys it would be unreadable
    seed.ensure_database(reseed=False, keys="A")
    assert marker_kept()
    seed.ensure_database(reseed=False, keys="B")
    assert not marker_kept()

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE hitl_bench_keytest WITH (FORCE)")


@pytest.mark.django_db(transaction=True)
def test_the_seeded_table_is_vacuumed_as_autovacuum_would_leave_it():
    """A bulk-loaded table that was never vacuumed has no page marked all-visible, so the queue's
    places (an index-only scan over its partial index in a deployment) read the heap instead: 212
    against 19 ms for the places of one page of the superuser's open list over the million rows.
    A deployment's autovacuum marks them; the bench's PostgreSQL may run with autovacuum off."""
    seed.seed_admin(tenants=2, escalations=2000, prefix=PREFIX)

    seed.vacuum_seeded_tables()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relallvisible FROM pg_class WHERE relname = 'conversations_escalation'")
        assert cursor.fetchone()[0] > 0
