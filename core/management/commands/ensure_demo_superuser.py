import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def shown(path):
    """The path relative to the checkout when it is inside it (var/…), else in full."""
    return path.relative_to(settings.BASE_DIR) if path.is_relative_to(settings.BASE_DIR) else path


class Command(BaseCommand):
    help = (
        "For embedded/demo installs: create a superuser 'admin' with a generated password if no "
        "superuser exists, and print how to log in. Safe to re-run."
    )

    def handle(self, *args, **options):
        login_file = settings.VAR_DIR / "demo-superuser.txt"
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@example.com", password)
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            login_file.write_text(f"admin\n{password}\n")
            login_file.chmod(0o600)
        if login_file.exists():
            username, password = login_file.read_text().split()[:2]
            if User.objects.filter(username=username, is_superuser=True).exists():
                self.stdout.write(
                    f"Log in at {settings.PUBLIC_BASE_URL}/admin/ as '{username}' with password "
                    f"'{password}' (kept in {shown(login_file)})."
                )
                return
        self.stdout.write(
            f"Log in at {settings.PUBLIC_BASE_URL}/admin/ with your superuser "
            "(create another with `python manage.py createsuperuser`)."
        )
