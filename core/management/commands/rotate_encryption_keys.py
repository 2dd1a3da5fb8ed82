from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from core import crypto
from core.fields import encrypted_fields


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the newest key in FIELD_ENCRYPTION_KEYS. "
        "Run after prepending a new key; afterwards the old keys can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        total = 0
        for model in apps.get_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            count = self._rotate_model(model, fields, batch_size)
            total += count
            self.stdout.write(f"{model._meta.label}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} value(s) under the newest key."))

    def _rotate_model(self, model, fields, batch_size: int) -> int:
        # Works on the stored tokens directly (raw SQL), so no plaintext is ever materialised and
        # model save() side effects (auto_now, signals) do not fire.
        table = connection.ops.quote_name(model._meta.db_table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        count = 0
        for field in fields:
            column = connection.ops.quote_name(field.column)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
                rows = cursor.fetchall()
            for start in range(0, len(rows), batch_size):
                with transaction.atomic(), connection.cursor() as cursor:
                    for row_pk, token in rows[start : start + batch_size]:
                        try:
                            new_token = crypto.reencrypt(token)
                        except crypto.InvalidToken:
                            raise CommandError(
                                f"{model._meta.label}.{field.name} of row {row_pk} cannot be decrypted "
                                "with any key in FIELD_ENCRYPTION_KEYS; add the key it was written with."
                            ) from None
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                            [new_token, row_pk],
                        )
                        count += 1
        return count
