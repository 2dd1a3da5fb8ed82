"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools' WebAuthn domain) plays
the platform authenticator. A staff member registers a passkey on the two-factor page, signs out,
signs in with the password and confirms with the passkey, all under the pages' nonce-based
Content-Security-Policy (any violation fails the test)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def passkey_site(live_server, settings):
    # Browsers refuse an IP address as the relying party ID: the live server is opened as localhost.
    port = urlsplit(live_server.url).port
    base = f"http://localhost:{port}"
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [base]
    return base


def add_virtual_authenticator(page) -> tuple[object, str]:
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    added = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return session, added["authenticatorId"]


def password_login(page, base, username):
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()


class HeldCatalog:
    """Holds the passkey scripts' translation catalog (jsi18n) until released, as a slow network
    would: a button that works only once the catalog is in must not be offered before."""

    def __init__(self, page):
        self.page = page
        self.held: list = []
        page.route(self.is_catalog, self.hold)

    @staticmethod
    def is_catalog(url: str) -> bool:
        return "/admin/two-factor/passkeys/jsi18n/" in url

    def hold(self, route) -> None:
        self.held.append(route)

    def click_as_soon_as_offered(self, name: str) -> None:
        """Click the button the moment it shows, whether or not the catalog has come, then let
        the catalog through."""
        button = self.page.get_by_role("button", name=name)
        try:
            button.click(timeout=2_000)
            clicked = True
        except PlaywrightTimeout:
            clicked = False
        for route in self.held:
            route.continue_()
        self.held.clear()
        self.page.unroute(self.is_catalog, self.hold)
        if not clicked:
            button.click()


def test_register_a_passkey_then_sign_in_with_it(passkey_site, page, admin_a):
    from django_otp_webauthn.models import WebAuthnCredential

    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    session, authenticator_id = add_virtual_authenticator(page)

    # enrol: sign in with the password (no factor yet), open the two-factor page, add a passkey
    password_login(page, passkey_site, "alice")
    expect(page).to_have_url(f"{passkey_site}/admin/")
    # on a slow network the translation catalog may come after the passkey script
    catalog = HeldCatalog(page)
    page.goto(f"{passkey_site}/admin/two-factor/", wait_until="commit")
    catalog.click_as_soon_as_offered("Add a passkey")
    expect(page.locator("#passkey-list li")).to_have_count(1, timeout=15_000)
    expect(page.locator("#two-factor-state")).to_contain_text("signed in with your second factor")
    assert WebAuthnCredential.objects.filter(user=admin_a, confirmed=True).count() == 1
    credentials = session.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})[
        "credentials"
    ]
    assert len(credentials) == 1 and credentials[0]["rpId"] == "localhost"
    snap(page, "two-factor-passkey-registered")

    # sign out and back in: the password alone lands on the two-factor page
    page.context.clear_cookies()
    catalog = HeldCatalog(page)
    password_login(page, passkey_site, "alice")
    expect(page).to_have_url(f"{passkey_site}/admin/two-factor/?next=/admin/")
    snap(page, "two-factor-passkey-confirm")
    catalog.click_as_soon_as_offered("Use my passkey")

    # the passkey confirms the sign-in and the browser goes where it was headed
    expect(page).to_have_url(f"{passkey_site}/admin/", timeout=15_000)
    expect(page.locator("#content")).to_be_visible()
    page.goto(f"{passkey_site}/admin/conversations/escalation/")
    expect(page).to_have_url(f"{passkey_site}/admin/conversations/escalation/")
    assert WebAuthnCredential.objects.get(user=admin_a).sign_count >= 1
    assert violations == []
    assert page_errors == []
