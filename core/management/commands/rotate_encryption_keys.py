from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from core import crypto
from core.fields import encrypted_fields
from core.key_check import check_processes, default_urls


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the newest key in FIELD_ENCRYPTION_KEYS. "
        "Run after every process was restarted with the new key list (new key first); refuses "
        "otherwise. Afterwards the old keys can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--check-url",
            action="append",
            default=[],
            metavar="URL",
            help="/readyz of a web process to check (repeat for each web host; default: "
            "PUBLIC_BASE_URL/readyz). Celery workers are asked through the broker.",
        )
        parser.add_argument(
            "--no-process-check",
            action="store_true",
            help="Re-encrypt without asking running processes (only when none runs).",
        )

    def handle(self, *args, batch_size: int, check_url: list[str], no_process_check: bool, **options):
        newest = crypto.fingerprints()[0] if settings.FIELD_ENCRYPTION_KEYS else None
        if newest is None:
            raise CommandError("FIELD_ENCRYPTION_KEYS is empty.")
        if not no_process_check:
            self._require_processes_ready(check_url or default_urls())
        total = 0
        for model in apps.get_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            count = self._rotate_model(model, fields, batch_size)
            total += count
            self.stdout.write(f"{model._meta.label}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} value(s) under the newest key ({newest})."))

    def _require_processes_ready(self, urls: list[str]) -> None:
        report = check_processes(urls)
        for name in report.ready:
            self.stdout.write(f"ready: {name}")
        if report.ok:
            return
        problems = [f"  not restarted with the new key list: {p}" for p in report.not_ready]
        problems += [f"  could not ask: {p}" for p in report.unreachable]
        if not report.ready and not problems:
            problems.append("  no process answered")
        raise CommandError(
            f"Not re-encrypting: every running process must hold the new key {report.newest} first "
            "(deploy the new FIELD_ENCRYPTION_KEYS, new key first, and restart web, worker and beat).\n"
            + "\n".join(problems)
            + "\nNothing was changed. (--no-process-check skips this when no process runs.)"
        )

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
