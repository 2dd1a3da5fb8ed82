"""Send the sandbox's due webhook retries in this process.

Needed when tasks run eagerly (`make run`): there is no worker to fire countdown retries, so failed
deliveries wait here, or for "Send due now" on the console's deliveries page.
"""

import time

from django.core.management.base import BaseCommand

from sandbox import webhooks


class Command(BaseCommand):
    help = "Send pending sandbox webhook deliveries whose retry time has come (once, or --loop)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="Keep running, checking every --interval seconds."
        )
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between checks (--loop).")
        parser.add_argument(
            "--now",
            action="store_true",
            help="Also send pending retries whose scheduled time has not come yet.",
        )

    def handle(self, *args, loop: bool, interval: float, now: bool, **options):
        while True:
            attempts = [a for a in webhooks.send_due(include_scheduled=now) if a.sent]
            if attempts or not loop:
                delivered = sum(a.ok for a in attempts)
                failed = sum(a.status == "failed" for a in attempts)
                self.stdout.write(
                    f"{len(attempts)} sent: {delivered} delivered, "
                    f"{len(attempts) - delivered - failed} to retry, {failed} given up"
                )
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
