"""The production profile as deployed: `make prod` (preflight, migrate, collectstatic, then honcho
starting gunicorn, a Celery worker and beat from the Procfile) with DJANGO_ENV=production and a full
env file, against the test database and a scratch Redis; then the HTTPS behaviour a proxy in front
relies on, static files from whitenoise, a request → broker → worker round trip, and /readyz going
503 when the broker is gone."""

import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from tests.gunicorn import free_port, running_gunicorn
from tests.worker import process_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
HOST = "hitl.example.com"
HTTPS = {"Host": HOST, "X-Forwarded-Proto": "https"}
PASSWORD = "correct horse battery staple"


def production_env(static_root: Path, broker: str) -> dict:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": process_env()["TEST_DATABASE_URL"],
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": broker,
        "ALLOWED_HOSTS": HOST,
        "PUBLIC_BASE_URL": f"https://{HOST}",
        "SECURE_SSL_REDIRECT": "true",
        "STATIC_ROOT": str(static_root),
        "HUBSPOT_SANDBOX": "false",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "CELERY_WORKER_CONCURRENCY": "1",
        "LOG_FORMAT": "text",
    }


@pytest.fixture
def make_prod(transactional_db, tmp_path):
    """`make prod` with an env file, in its own process group: (base URL, output reader, env)."""
    redis.Redis.from_url(settings.TEST_REDIS_URL).flushdb()
    env = production_env(tmp_path / "static", settings.TEST_REDIS_URL)
    env_file = tmp_path / "production.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "TEST_"))}
    log_path = tmp_path / "make-prod.log"
    with open(log_path, "w") as log:
        # -o: the shared venv is installed already; never reinstall from inside a test.
        popen = subprocess.Popen(
            ["make", "-s", "-o", ".venv/.runtime", "prod", f"ENV_FILE={env_file}", f"PORT={port}"],
            cwd=ROOT,
            env=clean,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    output = lambda: log_path.read_text(errors="replace")  # noqa: E731
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _answers(f"{base}/healthz"):
            assert popen.poll() is None, f"make prod exited ({popen.returncode}):\n{output()}"
            assert time.monotonic() < deadline, f"no /healthz within 90 s:\n{output()}"
            time.sleep(0.2)
        yield base, output, env
    finally:
        os.killpg(popen.pid, signal.SIGTERM)  # honcho stops web, worker and beat
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait_for(predicate, what: str, output, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not seen within {timeout} s:\n{output()}"
        time.sleep(0.2)


def test_make_prod_serves_https_static_files_and_runs_tasks(make_prod):
    base, output, env = make_prod

    # Health: plain http, probed by IP (not an allowed host), never redirected.
    health = requests.get(f"{base}/healthz", timeout=5, allow_redirects=False)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = requests.get(f"{base}/readyz", timeout=10, allow_redirects=False)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["status"] == "ok"
    assert ready.json()["checks"]["broker"]["status"] == "ok"
    assert ready.json()["checks"]["broker"]["transport"] == "redis"

    # Plain http to anything else is sent to https; an unknown host is refused.
    plain = requests.get(f"{base}/admin/login/", headers={"Host": HOST}, timeout=5, allow_redirects=False)
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://{HOST}/admin/login/"
    assert requests.get(f"{base}/admin/login/", timeout=5, allow_redirects=False).status_code == 400

    # Through the TLS proxy: HSTS, secure cookies, hardening headers.
    login = requests.get(f"{base}/admin/login/", headers=HTTPS, timeout=5, allow_redirects=False)
    assert login.status_code == 200, login.text[:500]
    assert login.headers["Strict-Transport-Security"] == "max-age=2592000; includeSubDomains"
    assert login.headers["X-Frame-Options"] == "DENY"
    assert login.headers["X-Content-Type-Options"] == "nosniff"
    csrf_cookie = login.headers["Set-Cookie"]
    assert csrf_cookie.startswith("csrftoken=") and "Secure" in csrf_cookie

    # Static files: hashed names from the manifest, served by whitenoise, cached for ever.
    css = re.search(r'href="(/static/[\w/.-]+\.[0-9a-f]{12}\.css)"', login.text)
    assert css, login.text[:2000]
    static = requests.get(base + css.group(1), headers=HTTPS, timeout=5)
    assert static.status_code == 200 and "text/css" in static.headers["Content-Type"]
    assert static.headers["Cache-Control"] == "max-age=315360000, public, immutable"
    docs = requests.get(f"{base}/api/docs/", headers=HTTPS, timeout=5)
    bundle = re.search(
        r'src="(/static/drf_spectacular_sidecar/[^"]+swagger-ui-bundle\.[0-9a-f]{12}\.js)"', docs.text
    )
    assert bundle, docs.text[:2000]
    assert requests.get(base + bundle.group(1), headers=HTTPS, timeout=5).status_code == 200

    # A staff request queues a task; the worker started by `make prod` answers it through Redis.
    # Hashed with a hasher of the production profile (the test profile's MD5 is not one of them).
    password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user = UserFactory(username="ops", is_staff=True, is_superuser=True)
    type(user).objects.filter(pk=user.pk).update(password=password)  # as is: factories hash again
    # Superusers sign in with a second factor in production (tests/security/test_two_factor.py).
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = _admin_session(base, login, otp_token=f"{TOTP(device.bin_key).token():06d}")
    ping = session.post(f"{base}/ops/worker-ping/", timeout=10, allow_redirects=False)
    assert ping.status_code == 202, ping.text[:500]
    detail = f"{base}{ping.json()['url']}"
    _wait_for(lambda: session.get(detail, timeout=5).json()["completed_at"], "worker answer", output)
    assert session.get(detail, timeout=5).json()["worker"].startswith("celery@")

    # Beat runs too (one scheduler, the database one) and the access log goes to stdout.
    _wait_for(lambda: "beat: Starting" in output(), "beat", output)
    assert "DatabaseScheduler" in output()
    assert '"GET /healthz HTTP/1.1" 200' in output()
    for secret in (PASSWORD, env["SECRET_KEY"], env["FIELD_ENCRYPTION_KEYS"]):
        assert secret not in output()


class _HttpsSession(requests.Session):
    """Talks to gunicorn over plain http as the TLS proxy would: forwarded proto, Host, and the
    Secure cookies that `requests` itself would only send over https."""

    def __init__(self, cookies: dict):
        super().__init__()
        self.headers.update(HTTPS)
        self.fixed_cookies = cookies

    def request(self, method, url, **kwargs):
        headers = kwargs.pop("headers", {}) or {}
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.fixed_cookies.items())
        headers.setdefault("Referer", f"https://{HOST}/admin/")
        if "csrftoken" in self.fixed_cookies:
            headers.setdefault("X-CSRFToken", self.fixed_cookies["csrftoken"])
        response = super().request(method, url, headers=headers, **kwargs)
        for cookie in response.headers.get("Set-Cookie", "").split(", "):
            name, _, rest = cookie.partition("=")
            if name in ("csrftoken", "sessionid"):
                self.fixed_cookies[name] = rest.split(";", 1)[0]
        return response


def _admin_session(base: str, login: requests.Response, otp_token: str = "") -> requests.Session:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    session = _HttpsSession({"csrftoken": login.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]})
    response = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": "ops", "password": PASSWORD, "otp_token": otp_token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:1000]
    assert "sessionid" in session.fixed_cookies
    return session


def test_readyz_is_503_naming_the_broker_when_it_is_down(db, tmp_path):
    closed = free_port()
    env = production_env(tmp_path / "static", f"redis://:s3cr3tpw@127.0.0.1:{closed}/0")
    env["CACHE_URL"] = "locmemcache://"
    with running_gunicorn(env, tmp_path, workers=1) as server:
        response = requests.get(f"{server.url}/readyz", timeout=10, allow_redirects=False)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"]["status"] == "ok"
    assert "Connection refused" in body["checks"]["broker"]["error"]
    assert "s3cr3tpw" not in response.text
