"""Send the bot callbacks whose retry is due, in this process.

For the embedded install (`make run`, tasks run eagerly, no worker and no beat): a failed callback
is not retried inside the request that emitted it, it waits for this command (once, or `--loop`).
With a worker and beat running, `sweep_due_callbacks` does the same every minute.

Each pass also applies the assignment timeout (beat's `expire_unassigned_escalations`), which an
embedded install would otherwise never run; `--no-timeouts` leaves that to beat.
"""

import time

from django.core.management.base import BaseCommand

from conversations import delivery, timeouts


class Command(BaseCommand):
    help = "Deliver pending bot callbacks whose retry time has come (once, or --loop)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, checking every --interval s.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between checks (--loop).")
        parser.add_argument(
            "--no-timeouts", action="store_true", help="Do not apply the assignment timeout (beat does)."
        )

    def handle(self, *args, loop: bool, interval: float, no_timeouts: bool, **options):
        while True:
            expired = 0 if no_timeouts else timeouts.expire_unassigned()
            if expired:
                self.stdout.write(f"{expired} escalations failed: no agent within the timeout")
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
