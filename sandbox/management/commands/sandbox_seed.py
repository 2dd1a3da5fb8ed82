"""Create (or find) the demo HubSpot portal and print its credentials as one JSON object.

    python manage.py sandbox_seed [--json] [--base-url URL]

Re-running changes nothing and prints the same values, so scripts can call it unconditionally.
"""

import json

from django.core.management.base import BaseCommand

from sandbox.seed import seed_demo


class Command(BaseCommand):
    help = "Seed the HubSpot sandbox's demo portal, app, inboxes, contacts and agents; print JSON."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            dest="compact",
            action="store_true",
            help="Print compact JSON on one line (default: indented).",
        )
        parser.add_argument(
            "--base-url", default=None, help="Public origin of this server (default: PUBLIC_BASE_URL)."
        )

    def handle(self, *args, compact: bool = False, base_url: str | None = None, **options):
        result = seed_demo(base_url)
        text = json.dumps(result, separators=(",", ":")) if compact else json.dumps(result, indent=2)
        self.stdout.write(text)
