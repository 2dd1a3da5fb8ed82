"""Passkeys (WebAuthn) as a second factor, through django-otp-webauthn.

A passkey is a django-otp device like the TOTP one: signing in with it marks the session verified
(`request.user.is_verified()`), which is what RequireTwoFactorMiddleware, the tenant's
"require a second factor" and the production rule for superusers look at. The ceremonies are JSON
endpoints under /admin/two-factor/passkeys/ that the library's scripts call from the two-factor
page (static files, so the Content-Security-Policy needs no exception).

What this module adds to the library's views:
- only signed-in, active staff take part (no passwordless sign-in: settings turn it off, and the
  authentication endpoints refuse an anonymous caller);
- a person who already has a second factor must have used it in this session before registering
  another (the library's own rule, kept);
- after a successful sign-in the browser goes back to the page it came from, or the admin home.
"""

from __future__ import annotations

from django.urls import path, reverse
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as webauthn
from django_otp_webauthn.models import WebAuthnCredential


class StaffOnly(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = "Sign in with your password first; passkeys are for staff accounts."
    default_code = "not_staff"


def _staff(request) -> None:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise StaffOnly()


class BeginRegistration(webauthn.BeginCredentialRegistrationView):
    def check_can_register(self):
        _staff(self.request)


class CompleteRegistration(webauthn.CompleteCredentialRegistrationView):
    def check_can_register(self):
        _staff(self.request)


class BeginAuthentication(webauthn.BeginCredentialAuthenticationView):
    def check_can_authenticate(self):
        _staff(self.request)


class CompleteAuthentication(webauthn.CompleteCredentialAuthenticationView):
    def check_can_authenticate(self):
        _staff(self.request)

    def get_success_url(self):
        return self.get_redirect_url() or reverse("admin:index")


def passkeys_of(user):
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at")


app_name = "otp_webauthn"
urlpatterns = [
    path("registration/begin/", BeginRegistration.as_view(), name="credential-registration-begin"),
    path("registration/complete/", CompleteRegistration.as_view(), name="credential-registration-complete"),
    path("authentication/begin/", BeginAuthentication.as_view(), name="credential-authentication-begin"),
    path(
        "authentication/complete/",
        CompleteAuthentication.as_view(),
        name="credential-authentication-complete",
    ),
    # The scripts' translations (gettext); a static-like script, allowed by the CSP's 'self'.
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
