"""`manage.py export_hubspot_project --app <id> --out <dir>`: write the HubSpot project files of a
project app (see connections.project_export), ready for `hs project upload`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from connections.models import AppKind, HubSpotApp
from connections.project_export import url_problems, write_project


class Command(BaseCommand):
    help = "Write the HubSpot developer-platform project (app-hsmeta.json, webhooks) of an app."

    def add_arguments(self, parser):
        parser.add_argument(
            "--app", required=True, help="The app's HubSpot app ID (or its id in the portal)."
        )
        parser.add_argument("--out", required=True, help="Directory to write the project into.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Also for a legacy public app (its settings live in HubSpot's app page instead).",
        )

    def handle(self, *args, app, out, force, **options):
        found = self._app(app)
        if found.kind != AppKind.PROJECT and not force:
            raise CommandError(
                f"App {found.app_id} is a legacy public app: HubSpot takes its settings from the app's "
                "page and the webhooks API, not from project files. Set its kind to “Project app” "
                "first, or pass --force."
            )
        out_dir = Path(out)
        if out_dir.exists() and not out_dir.is_dir():
            raise CommandError(f"{out_dir} exists and is not a directory.")
        for path in write_project(found, out_dir):
            self.stdout.write(str(path))
        for problem in url_problems(found):
            self.stderr.write(self.style.WARNING(problem))
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote the project of app {found.app_id}; run `hs project upload` in {out_dir}."
            )
        )

    def _app(self, value: str) -> HubSpotApp:
        if not value.isdigit():
            raise CommandError("--app takes a number: the HubSpot app ID or the app's id in the portal.")
        found = (
            HubSpotApp.objects.filter(app_id=int(value)).first()
            or HubSpotApp.objects.filter(pk=int(value)).first()
        )
        if found is None:
            raise CommandError(f"No HubSpot app with app ID (or id) {value}.")
        return found
