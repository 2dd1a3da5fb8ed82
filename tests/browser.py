"""Browser fixtures: Playwright driving Debian's Chromium, headless (tests marked `browser`).

Playwright's download of its own browser is blocked here, so `executable_path` points at
/usr/bin/chromium (tests/services.py skips browser tests without it, or fails them under CI=true).

Why DJANGO_ALLOW_ASYNC_UNSAFE: Playwright's sync API runs an asyncio event loop in the test's
thread, and Django refuses ORM calls from a thread with a running loop (SynchronousOnlyOperation),
although these calls are plain synchronous ones that never run on that loop. The variable disables
the check for the lifetime of the browser only (monkeypatch restores it before the test database
is flushed); the live server thread serving the pages is unaffected either way.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

from tests.services import CHROMIUM

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium, one per test: a session-wide one would keep the loop (and the
    relaxed async check above) alive through every later, non-browser test."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()
            # While Playwright's loop counts as running, Django keeps DB connections per context
            # (asgiref's Local), not per thread: ORM calls made by the test got their own
            # connection, which pytest-django's cleanup cannot see once the loop stops. Close it
            # now, or dropping the test database at the end finds it still in use.
            connections.close_all()


@pytest.fixture
def page(browser, request):
    # axe-core is injected as a script of the test's own, which the pages' Content-Security-Policy
    # rightly refuses; accessibility tests (marked `axe`) lift it for their context only. The
    # policy itself is tested in tests/security/test_csp.py.
    bypass_csp = request.node.get_closest_marker("axe") is not None
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="en-US", bypass_csp=bypass_csp
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def snap(page, name: str, folder_variable: str = "E2E_SCREENSHOTS") -> None:
    """A full-page screenshot `<name>.png` into the folder the environment variable names, if set:
    for people reviewing what the pages look like; tests never read them."""
    folder = os.environ.get(folder_variable)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def log_in(page, base_url: str, user) -> None:
    """Sign `user` in for this page's browser context, as the admin login would (a session cookie),
    without depending on how the login page looks."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def sign_in(page, base_url: str, username: str, password: str = "pw-for-tests") -> None:
    """Sign in on the admin's login page as a person does, and land on the admin's home (the
    default password is tests.factories.UserFactory's). For tests about that way in; the others
    use `log_in`, which skips the page."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/admin/")
