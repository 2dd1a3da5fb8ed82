"""The bench's data: its PostgreSQL database, the sandbox connection the scenarios use, and the
admin scenario's 1,000,000 escalations across 100 tenants.

The big seed is one `INSERT … SELECT … FROM generate_series` per table (PostgreSQL builds the
rows itself: tens of seconds, not the ORM's hours), and it is kept between runs: a run that
finds exactly the expected rows reuses them; `--reseed` drops the database first. Columns are
taken from the model, so a column added later gets its model default instead of breaking the
seed (a required column without a default stops it with a message saying so).
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import subprocess
import sys
import time
import uuid

import psycopg
from psycopg import sql

from bench.env import BASE_DIR, DATABASE_URL
from bench.servers import BASE_ENVIRON

ADMIN_TENANTS = 100
ADMIN_ESCALATIONS = 1_000_000
TENANT_SLUG = "bench-t{:03d}"
SUPERUSER = "bench-root"
TENANT_ADMIN = "bench-admin-001"


# The database ------------------------------------------------------------------------------------


def _server_and_name(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return f"{base}/postgres", name


def ensure_database(*, reseed: bool, keys: str) -> None:
    """The bench's database, kept between runs unless `reseed`, or unless it was seeded with other
    encryption keys (another clone's var/bench/): its secrets would be unreadable here."""
    server, name = _server_and_name(DATABASE_URL)
    if not name.startswith("hitl_bench"):
        raise SystemExit(f"refusing to manage database {name!r}: bench databases start with hitl_bench")
    fingerprint = hashlib.sha256(keys.encode()).hexdigest()[:16]
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and (reseed or _fingerprint(DATABASE_URL) != fingerprint):
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_keys (fingerprint text NOT NULL)")
        conn.execute("DELETE FROM bench_keys")
        conn.execute("INSERT INTO bench_keys VALUES (%s)", [fingerprint])


def _fingerprint(url: str) -> str | None:
    """Which keys the kept database was seeded with (a hash, never the keys), if it says."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT to_regclass('bench_keys')").fetchone()[0]:
            return None
        row = conn.execute("SELECT fingerprint FROM bench_keys").fetchone()
        return row[0] if row else None


def prepare_schema(portal_env: dict[str, str]) -> None:
    """Migrations, and static files collected for the production storage: the admin's pages need
    its manifest. Both are no-ops when nothing changed since the last run. The static files are
    collected by the portal's own profile in a process of its own; this process runs the local
    profile, whose storage writes no manifest."""
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env={**BASE_ENVIRON, **portal_env},
        check=True,
    )
    forget_webhooks()


def forget_webhooks() -> None:
    """Empty the webhook receipts and events earlier runs left (the ingest scenario stores ~200,000
    events a run and leaves them pending). Kept, they piled up to 1.2 million rows (1 GB) over six
    runs, and each run's relay figures got worse with the table (autovacuum, colder indexes), not
    with the code. The database is the bench's own (`ensure_database` accepts only hitl_bench*)."""
    from django.db import connection

    from conversations.models import HubSpotEvent, WebhookReceipt

    tables = ", ".join(f'"{m._meta.db_table}"' for m in (HubSpotEvent, WebhookReceipt))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}")


# The sandbox connection ----------------------------------------------------------------------------


def provision() -> dict:
    """`provision_connection --sandbox --json --new-key`: the demo portal's connection, registered
    against the sandbox server, with a fresh bot key (keys are shown only when issued)."""
    from django.core.management import call_command

    from conversations.callbacks import active_secrets

    out = io.StringIO()
    call_command("provision_connection", "--sandbox", "--json", "--new-key", stdout=out)
    provisioned = json.loads(out.getvalue())
    # The callback secret is printed only when first issued; a bot keeps it from then on.
    provisioned["callback_secret"] = active_secrets(provisioned["connection_id"])[0]
    return provisioned


def relay_escalations(provisioned: dict, count: int, callback_url: str, run_id: str) -> list[dict]:
    """`count` escalations already assigned to an agent in HubSpot (thread known), whose bot listens
    at `callback_url`. Earlier runs' relay escalations are closed first."""
    from connections.models import ConnectedInbox, Connection
    from conversations.models import Escalation, EscalationStatus

    connection = Connection.objects.get(pk=provisioned["connection_id"])
    inbox = ConnectedInbox.objects.filter(connection=connection).order_by("position", "id").first()
    Escalation.objects.filter(connection=connection, conversation_id__startswith="bench-relay-").exclude(
        status__in=[EscalationStatus.CLOSED, EscalationStatus.FAILED]
    ).update(status=EscalationStatus.CLOSED, close_reason="bot_closed")
    base_thread = int(time.time() * 1000) * 1000  # unique per run, like HubSpot's numeric ids
    rows = [
        Escalation(
            connection=connection,
            inbox=inbox,
            conversation_id=f"bench-relay-{run_id}-{i}",
            status=EscalationStatus.ASSIGNED,
            user_name=f"Relay user {i}",
            title=f"Relay {i}",
            callback_url=callback_url,
            hubspot_thread_id=str(base_thread + i),
            agent_actor_id="A-1001",
            agent_name="Alice Agent",
        )
        for i in range(count)
    ]
    Escalation.objects.bulk_create(rows)
    return [
        {
            "thread_id": e.hubspot_thread_id,
            "integration_thread_id": str(e.integration_thread_id),
            "channel_account_id": inbox.channel_account_id if inbox else "",
        }
        for e in rows
    ]


def relay_sandbox_messages(provisioned: dict, escalations: list[dict], run_id: str, replies: dict) -> int:
    """The agents' replies the relay scenario will announce, stored in "HubSpot" as HubSpot holds
    them before it sends the webhook: a sandbox thread per relay escalation and the message of
    each reply (`replies`: how many at each rate, reply i going to escalation i modulo their
    number). The portal reports each delivered reply SENT; without the message every PATCH was a
    404, so the bench measured the refusal path instead of the update. Earlier runs' are deleted.
    Returns the messages stored."""
    from django.utils import timezone

    from bench.hubspot import message_id, relay_prefix
    from sandbox.models import SandboxChannelAccount, SandboxMessage, SandboxThread

    SandboxThread.objects.filter(messages__message_id__startswith="bench-relay-").delete()
    if not escalations:
        return 0
    account = SandboxChannelAccount.objects.select_related("channel", "inbox", "portal").get(
        pk=escalations[0]["channel_account_id"]
    )
    threads = SandboxThread.objects.bulk_create(
        SandboxThread(
            pk=int(escalation["thread_id"]),
            portal=account.portal,
            inbox=account.inbox,
            channel=account.channel,
            channel_account=account,
            integration_thread_id=escalation["integration_thread_id"],
            visitor_name="Relay user",
            assigned_to="A-1001",
        )
        for escalation in escalations
    )
    now = timezone.now()
    sender = {
        "actorId": "A-1001",
        "deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": str(account.pk)},
        "name": "Alice Agent",
    }
    markers = [(i, f"{relay_prefix(run_id, rate)}{i}") for rate, n in replies.items() for i in range(n)]
    messages = [
        SandboxMessage(
            thread=threads[i % len(threads)],
            message_id=message_id(marker),
            direction=SandboxMessage.Direction.OUTGOING,
            text=marker,
            senders=[sender],
            recipients=[{"actorId": "V-1", "name": "Relay user"}],
            created_by="A-1001",
            client_type="HUBSPOT",
            created_at=now,
        )
        for i, marker in markers
    ]
    SandboxMessage.objects.bulk_create(messages, batch_size=1000)
    return len(messages)


# The admin scenario's million ------------------------------------------------------------------------


def admin_tenants(prefix: str = TENANT_SLUG) -> list:
    from tenants.models import Tenant

    return list(Tenant.objects.filter(slug__startswith=prefix.split("{")[0]).order_by("slug"))


def seeded_count(tenants) -> int:
    from conversations.models import Escalation

    return Escalation.objects.filter(connection__tenant__in=tenants).count()


def seed_admin(
    *, tenants: int = ADMIN_TENANTS, escalations: int = ADMIN_ESCALATIONS, prefix=TENANT_SLUG
) -> dict:
    """Reuse the seed if it holds exactly `escalations` across `tenants` tenants; else (re)build it.
    Returns what was done and how long it took."""
    started = time.monotonic()
    existing = admin_tenants(prefix)
    if len(existing) == tenants and seeded_count(existing) == escalations:
        return {"reused": True, "seconds": time.monotonic() - started}
    connections, inboxes = _tenants_with_connections(tenants, prefix)
    _insert_escalations(escalations, connections, inboxes)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_escalation")
    return {"reused": False, "seconds": time.monotonic() - started}


def vacuum_seeded_tables() -> None:
    """VACUUM (ANALYZE) the escalations, as autovacuum leaves a deployment's table: pages marked
    all-visible, so the queue's places are an index-only scan. A bulk-loaded table never vacuumed
    reads the heap for each row instead: 212 against 19 ms for one list page's places here. Each
    run, since the bench's own writes and a PostgreSQL with autovacuum off would leave it
    otherwise; under a second on a table already vacuumed. Outside any transaction (VACUUM
    refuses one)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) conversations_escalation")


def _tenants_with_connections(count: int, prefix: str) -> tuple[list[int], list[int]]:
    """One tenant, app, connection and inbox per tenant (a few hundred rows: the ORM is fine);
    any escalations of a previous, partial seed are deleted."""
    from connections.models import ConnectedInbox, Connection, ConnectionStatus, HubSpotApp, InboxState
    from conversations.models import Escalation
    from tenants.models import Tenant

    old = Tenant.objects.filter(slug__startswith=prefix.split("{")[0])
    Escalation.objects.filter(connection__tenant__in=old)._raw_delete(Escalation.objects.db)
    connections, inboxes = [], []
    for i in range(1, count + 1):
        tenant, _ = Tenant.objects.get_or_create(
            slug=prefix.format(i), defaults={"name": f"Bench tenant {i:03d}"}
        )
        app, _ = HubSpotApp.objects.get_or_create(
            app_id=910_000 + i,
            defaults={
                "tenant": tenant,
                "name": f"Bench app {i:03d}",
                "client_id": str(uuid.uuid4()),
                "client_secret": secrets.token_urlsafe(24),
                "developer_api_key": secrets.token_urlsafe(24),
            },
        )
        conn, _ = Connection.objects.get_or_create(
            app=app,
            portal_id=930_000 + i,
            defaults={"tenant": tenant, "name": f"Bench portal {i:03d}", "status": ConnectionStatus.ACTIVE},
        )
        inbox, _ = ConnectedInbox.objects.get_or_create(
            connection=conn,
            inbox_id=950_000 + i,
            defaults={"name": "Support", "state": InboxState.ACTIVE, "channel_account_id": str(970_000 + i)},
        )
        connections.append(conn.pk)
        inboxes.append(inbox.pk)
    return connections, inboxes


# Statuses of the seeded escalations: most are history (closed), some live, a few failed.
_STATUS = (
    "(ARRAY['closed','closed','closed','closed','closed','closed','assigned','open','requested','failed'])"
    "[1 + g % 10]"
)
_ESCALATION_COLUMNS = {
    "id": "gen_random_uuid()",
    "connection_id": "(%(connections)s::bigint[])[1 + g %% %(tenants)s]",
    "inbox_id": "(%(inboxes)s::bigint[])[1 + g %% %(tenants)s]",
    "conversation_id": "'bench-' || g",
    "status": _STATUS.replace("%", "%%"),
    "user_name": "'User ' || g",
    "user_phone": "'+1555' || lpad((g %% 10000000)::text, 7, '0')",
    "user_email": "'user' || g || '@example.com'",
    "title": "'Order #' || g || ' needs a person'",
    "description": "'Seeded by make bench.'",
    "integration_thread_id": "gen_random_uuid()::text",
    "hubspot_thread_id": "(20000000000 + g)::text",
    "agent_actor_id": "CASE WHEN g %% 10 < 7 THEN 'A-' || (1000 + g %% 40) ELSE '' END",
    "agent_name": "CASE WHEN g %% 10 < 7 THEN 'Agent ' || (g %% 40) ELSE '' END",
    "created_at": "now() - g * interval '2 seconds'",
    "updated_at": "now() - g * interval '2 seconds'",
    "opened_at": "CASE WHEN g %% 10 < 8 THEN now() - g * interval '2 seconds' END",
    "assigned_at": "CASE WHEN g %% 10 < 7 THEN now() - g * interval '2 seconds' END",
    "closed_at": "CASE WHEN g %% 10 < 6 THEN now() - g * interval '2 seconds' + interval '10 minutes' END",
    "close_reason": "CASE WHEN g %% 10 < 6 THEN 'agent_closed' ELSE '' END",
    "failure_reason": "CASE WHEN g %% 10 = 9 THEN 'no_agent' ELSE '' END",
}


def _insert_escalations(count: int, connections: list[int], inboxes: list[int]) -> None:
    from django.db import connection

    from conversations.models import Escalation

    columns, values, params = (
        [],
        [],
        {"connections": connections, "inboxes": inboxes, "tenants": len(connections)},
    )
    for field in Escalation._meta.concrete_fields:
        columns.append(connection.ops.quote_name(field.column))
        if field.column in _ESCALATION_COLUMNS:
            values.append(_ESCALATION_COLUMNS[field.column])
            continue
        default = field.get_default()
        if default is None and not field.null:
            raise SystemExit(
                f"bench/seed.py: Escalation.{field.name} is required and has no default; "
                "add an expression for it to _ESCALATION_COLUMNS"
            )
        key = f"default_{field.column}"
        params[key] = field.get_db_prep_save(default, connection)
        values.append(f"%({key})s")
    # Table and column names come from the model; every value is a bound parameter.
    table, names, exprs = Escalation._meta.db_table, ", ".join(columns), ", ".join(values)
    query = f"INSERT INTO {table} ({names}) SELECT {exprs} FROM generate_series(0, %(last)s) AS g"  # noqa: S608
    params["last"] = count - 1
    with connection.cursor() as cursor:
        cursor.execute(query, params)


# Who looks at the admin ------------------------------------------------------------------------


def admin_sessions(tenant_slug: str = TENANT_SLUG.format(1)) -> dict[str, str]:
    """Session cookies of a superuser and of one tenant's admin, as after logging in. The superuser
    has an authenticator and used it at sign-in: the production profile requires a second factor
    of superusers and would answer every admin page with a redirect to it otherwise."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tenants.models import Membership, Role, Tenant

    user_model = get_user_model()
    root, _ = user_model.objects.get_or_create(
        username=SUPERUSER, defaults={"is_superuser": True, "is_staff": True}
    )
    admin, _ = user_model.objects.get_or_create(username=TENANT_ADMIN, defaults={"is_staff": True})
    Membership.objects.get_or_create(
        tenant=Tenant.objects.get(slug=tenant_slug), user=admin, defaults={"role": Role.ADMIN}
    )
    cookies = {}
    for label, user in (("superuser", root), ("tenant admin", admin)):
        if not user.has_usable_password():
            user.set_password(secrets.token_urlsafe(24))
            user.save(update_fields=["password"])
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if user.is_superuser:
            device, _ = TOTPDevice.objects.get_or_create(
                user=user, name="bench", defaults={"confirmed": True}
            )
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        cookies[label] = session.session_key
    return cookies
