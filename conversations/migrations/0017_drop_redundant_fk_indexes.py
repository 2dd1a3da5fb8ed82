"""Drop the own index of seven foreign keys that composite indexes already lead with.

Every INSERT paid for an index no query needs: a lookup, join or cascade by the key alone reads the
composite index instead. Most of these tables are written on every webhook event, relayed reply
and bot message.

Django would alter each field by dropping its foreign-key constraint, dropping the index and adding
the constraint again, which re-validates every row under a lock that stops writes to the table. So
the state changes as Django's AlterField would, while the database only drops the indexes; on
PostgreSQL CONCURRENTLY, without blocking writes (hence not atomic). Unapplying builds them again.
"""

from django.db import migrations, models
from django.db.models import CASCADE, PROTECT

# (table, column, index name as Django named it when the field was created)
INDEXES = [
    ("conversations_botapirequest", "connection_id", "conversations_botapirequest_connection_id_dfdad693"),
    ("conversations_botapirequest", "escalation_id", "conversations_botapirequest_escalation_id_8afec03b"),
    ("conversations_escalation", "connection_id", "conversations_escalation_connection_id_b7d95311"),
    (
        "conversations_escalationevent",
        "escalation_id",
        "conversations_escalationevent_escalation_id_aad9c594",
    ),
    (
        "conversations_escalationmessage",
        "escalation_id",
        "conversations_escalationmessage_escalation_id_4c6ef94f",
    ),
    ("conversations_hubspotevent", "app_id", "conversations_hubspotevent_app_id_296464c9"),
    ("conversations_slabreach", "escalation_id", "conversations_slabreach_escalation_id_ff846a86"),
]


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def _without_index(model_name: str, name: str, to: str, on_delete, **options) -> migrations.AlterField:
    """The field as Django's state now knows it: the same foreign key, without an index."""
    field = models.ForeignKey(db_index=False, on_delete=on_delete, to=to, **options)
    return migrations.AlterField(model_name=model_name, name=name, field=field)


def drop_indexes(apps, schema_editor):
    how = _concurrently(schema_editor)
    for _table, _column, name in INDEXES:
        schema_editor.execute(f"DROP INDEX{how} IF EXISTS {schema_editor.quote_name(name)}")


def create_indexes(apps, schema_editor):
    how = _concurrently(schema_editor)
    quote = schema_editor.quote_name
    for table, column, name in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX{how} IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)})"
        )


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY refuses a transaction

    dependencies = [
        ("connections", "0011_connection_token_refresh_claim"),
        ("conversations", "0016_escalation_queue_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                _without_index(
                    "botapirequest", "connection", "connections.connection", CASCADE, related_name="+"
                ),
                _without_index(
                    "botapirequest",
                    "escalation",
                    "conversations.escalation",
                    CASCADE,
                    blank=True,
                    null=True,
                    related_name="api_requests",
                    help_text="Empty when the call was refused before an escalation existed (e.g. 422).",
                ),
                _without_index(
                    "escalation", "connection", "connections.connection", PROTECT, related_name="escalations"
                ),
                _without_index(
                    "escalationevent",
                    "escalation",
                    "conversations.escalation",
                    CASCADE,
                    related_name="events",
                ),
                _without_index(
                    "escalationmessage",
                    "escalation",
                    "conversations.escalation",
                    CASCADE,
                    related_name="messages",
                ),
                _without_index(
                    "hubspotevent", "app", "connections.hubspotapp", CASCADE, related_name="hubspot_events"
                ),
                _without_index(
                    "slabreach",
                    "escalation",
                    "conversations.escalation",
                    CASCADE,
                    related_name="sla_breaches",
                ),
            ],
        ),
    ]
