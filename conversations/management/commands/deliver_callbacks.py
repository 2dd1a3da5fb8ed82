"""Send the bot callbacks whose retry is due, in this process.

For the embedded install (`make run`, tasks run eagerly, no worker and no beat): a failed callback
is not retried inside the request that emitted it, it waits for this command (once, or `--loop`).
With a worker and beat running, `sweep_due_callbacks` does the same every minute.

Each pass also does what beat would do for an embedded install, which has none: the assignment
timeout (`expire_unassigned_escalations`; `--no-timeouts` leaves it to beat) and the sweeps of
work whose eager run failed: publishes still pending, HubSpot thread closes still owed, webhook
events still pending (`--no-sweeps` leaves them to beat). Tasks run eagerly there, so a sweep
does the work in this process.
"""

import time

from django.core.management.base import BaseCommand

from conversations import delivery, timeouts
from conversations.tasks.publishing import sweep_owed_thread_closes, sweep_pending_publishes
from conversations.tasks.webhooks import sweep_pending_webhook_events


class Command(BaseCommand):
    help = "Deliver pending bot callbacks whose retry time has come (once, or --loop)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, checking every --interval s.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between checks (--loop).")
        parser.add_argument(
            "--no-timeouts", action="store_true", help="Do not apply the assignment timeout (beat does)."
        )
        parser.add_argument(
            "--no-sweeps", action="store_true", help="Leave pending publishes, closes and events to beat."
        )

    def handle(self, *args, loop: bool, interval: float, no_timeouts: bool, no_sweeps: bool, **options):
        while True:
            expired = 0 if no_timeouts else timeouts.expire_unassigned()
            if expired:
                self.stdout.write(f"{expired} escalations failed: no agent within the timeout")
            if not no_sweeps:
                self._sweep()
            runs = [delivery.deliver_pending(pk, task_id="manage.py") for pk in delivery.due_escalation_ids()]
            attempts = sum(run.attempts for run in runs)
            if attempts or not loop:
                delivered = sum(len(run.delivered) for run in runs)
                failed = sum(len(run.failed) for run in runs)
                waiting = sum(run.retry_in is not None for run in runs)
                self.stdout.write(
                    f"{attempts} attempts: {delivered} delivered, {failed} given up, "
                    f"{waiting} escalations waiting for a retry"
                )
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return

    def _sweep(self) -> None:
        swept = {
            "publishes": sweep_pending_publishes(),
            "HubSpot thread closes": sweep_owed_thread_closes(),
            "webhook events": sweep_pending_webhook_events(),
        }
        for what, count in swept.items():
            if count:
                self.stdout.write(f"retried {count} pending {what}")
