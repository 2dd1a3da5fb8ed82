"""`manage.py hubspot_doctor --connection <id> [--publish-test --inbox <id>]`: walk a connection
against HubSpot step by step and print a table (step, result, detail, what to do).

The same checks as the connection page's "Check health" (connections.health), plus a forced token
refresh and, with --publish-test, a message published into a new thread of the inbox, read back
and closed. Exits non-zero when a step failed. Prints no token or secret.
"""

import json
import textwrap

from django.core.management.base import BaseCommand, CommandError

from connections import health
from connections.models import ConnectedInbox, Connection

RESULT = {True: "OK", False: "PROBLEM", None: "not checked"}
WIDTHS = (26, 11, 60, 44)


class Command(BaseCommand):
    help = "Check a HubSpot connection step by step (token, scopes, channel, accounts, webhooks)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--connection", required=True, type=int, help="The connection's id in the portal."
        )
        parser.add_argument(
            "--publish-test",
            action="store_true",
            help="Also publish a test message into a new thread, read it back and close it.",
        )
        parser.add_argument("--inbox", help="HubSpot inbox ID (or the inbox row's id) for --publish-test.")
        parser.add_argument(
            "--json", action="store_true", help="Print the report as JSON instead of a table."
        )

    def handle(self, *args, connection, publish_test, inbox, as_json=False, **options):
        conn = Connection.objects.select_related("app", "tenant").filter(pk=connection).first()
        if conn is None:
            raise CommandError(f"No connection with id {connection}.")
        target = None
        if publish_test:
            target = self._inbox(conn, inbox)
        elif inbox:
            raise CommandError("--inbox goes with --publish-test.")
        report = health.check_health(conn, refresh=True)
        steps = list(report["checks"])
        if target is not None:
            steps += health.publish_test(conn, target)
        if as_json:
            self.stdout.write(_json(steps))
        else:
            title = f"HubSpot doctor: connection {conn.pk} “{conn}”, portal {conn.portal_id}"
            self.stdout.write(f"{title}, app {conn.app.app_id}")
            self.stdout.write(table(steps))
        failed = [s for s in steps if s["ok"] is False]
        if failed:
            raise CommandError(
                f"{len(failed)} step{'s' if len(failed) != 1 else ''} failed: "
                + ", ".join(s["label"] for s in failed)
            )
        self.stdout.write(self.style.SUCCESS("All steps passed."))

    def _inbox(self, conn, value) -> ConnectedInbox:
        if not value or not str(value).isdigit():
            raise CommandError("--publish-test needs --inbox <HubSpot inbox ID>.")
        inboxes = conn.inboxes.all()
        found = inboxes.filter(inbox_id=int(value)).first() or inboxes.filter(pk=int(value)).first()
        if found is None:
            raise CommandError(f"Connection {conn.pk} has no inbox {value}.")
        return found


def _json(steps) -> str:
    return json.dumps(
        [{k: s[k] for k in ("name", "label", "ok", "message", "fix")} for s in steps],
        indent=2,
        ensure_ascii=False,
    )


def table(steps) -> str:
    """A plain-text table; long cells wrap within their column."""
    header = ("Step", "Result", "Detail", "What to do")
    rows = [header] + [(s["label"], RESULT[s["ok"]], s["message"], s.get("fix") or "") for s in steps]
    rule = "+" + "+".join("-" * (w + 2) for w in WIDTHS) + "+"
    lines = [rule]
    for index, row in enumerate(rows):
        cells = [textwrap.wrap(str(cell), width) or [""] for cell, width in zip(row, WIDTHS, strict=True)]
        for n in range(max(len(c) for c in cells)):
            parts = [(c[n] if n < len(c) else "").ljust(w) for c, w in zip(cells, WIDTHS, strict=True)]
            lines.append("| " + " | ".join(parts) + " |")
        if index == 0:
            lines.append(rule.replace("-", "="))
    lines.append(rule)
    return "\n".join(lines)
