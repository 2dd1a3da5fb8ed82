"""`make run`'s last lines: once the server answers, where to go and how to log in.

Started in the background just before runserver, it waits for /healthz, then prints the URLs and
the demo login after runserver's own banner, so they are the last thing on the screen.
"""

import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Wait for the local server, then print its URLs and the demo login."

    def add_arguments(self, parser):
        parser.add_argument("--base", default=None, help="The server's URL (default: PUBLIC_BASE_URL).")
        parser.add_argument("--timeout", type=float, default=90.0)

    def handle(self, *args, base=None, timeout=90.0, **options):
        base = (base or settings.PUBLIC_BASE_URL).rstrip("/")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            self.stderr.write(f"The server at {base} did not answer within {timeout:.0f} s.")
            return
        login = "your superuser (python manage.py createsuperuser)"
        login_file = settings.VAR_DIR / "demo-superuser.txt"
        if login_file.exists():
            username, password = login_file.read_text().split()[:2]
            login = f"{username} / {password}"
        lines = [
            "",
            "HITL portal is running:",
            f"  Admin (escalations, connections):  {base}/admin/",
            f"  Chat as the end user (sandbox):    {base}/sandbox/app/chat/",
            f"  Agent console (sandbox HubSpot):   {base}/sandbox/app/console/",
            f"  Bot API docs:                      {base}/api/docs/",
            f"  Demo login:                        {login}",
        ]
        self.stdout.write("\n".join(lines))
