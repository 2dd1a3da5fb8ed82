"""Second factor for staff sign-ins (django-otp): TOTP authenticator apps and passkeys (WebAuthn,
core/passkeys.py). Either kind counts as "a second factor" everywhere.

Who must use one: superusers when HITL_SUPERUSER_TWO_FACTOR is on (always in the production
profile), and members of an organisation whose admin switched on `require_two_factor`. Anyone on
the staff may enrol anyway, and whoever has a confirmed device must use it at every sign-in.

Sign-in: the admin login asks for a code from a TOTP app (TwoFactorLoginForm). Someone who also
has a passkey may leave the code blank: the password alone then signs them in *unverified*, and
RequireTwoFactorMiddleware keeps them on /admin/two-factor/ until they confirm with the passkey
(or a code). A second factor is only added after using an existing one in this session.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import devices_for_user, match_token, user_has_device
from django_otp import login as otp_login
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import member_of_tenant_requiring_two_factor

DEVICE_NAME = "Authenticator app"


class TwoFactorLoginForm(OTPAdminAuthenticationForm):
    """The admin login: the password, then a code for people who have enrolled a device. With a
    passkey the code may stay blank: the passkey is asked for on the next page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin theme's input style (unfold's own login form does the same for its fields).
        from unfold.widgets import BASE_INPUT_CLASSES

        for name in ("username", "password", "otp_token", "otp_device"):
            if name in self.fields:
                self.fields[name].widget.attrs["class"] = " ".join(BASE_INPUT_CLASSES)
        self.fields["username"].widget.attrs["autofocus"] = ""
        self.fields["otp_token"].label = "Code from your authenticator app"
        self.fields["otp_token"].help_text = "Only if you have set up a second factor."
        self.fields["otp_token"].widget.attrs.update(
            {"autocomplete": "one-time-code", "inputmode": "numeric"}
        )

    def clean_otp(self, user):
        if user is None or not user_has_device(user):
            return
        if not (self.cleaned_data.get("otp_token") or "").strip() and has_passkey(user):
            user.otp_device = None  # signed in, not verified: the middleware asks for the passkey
            return
        super().clean_otp(user)

    def _chosen_device(self, user):
        # With a single device (the usual case) there is nothing to choose: the code is for it.
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            if len(devices) == 1:
                device = devices[0]
        return device


def two_factor_required(user) -> bool:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return bool(getattr(settings, "HITL_SUPERUSER_TWO_FACTOR", False))
    # The membership rows are read once per request and shared with the admin's tenant scoping.
    return member_of_tenant_requiring_two_factor(user)


def _verified(user) -> bool:
    return bool(getattr(user, "is_verified", lambda: False)())


def has_passkey(user) -> bool:
    from django_otp_webauthn.models import WebAuthnCredential

    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def has_totp(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# Whether the signed-in person has a confirmed device, noted in the session at each sign-in: the
# middleware reads it on every unverified request, and asking every device table each time would
# cost queries on every page. A device confirmed later in this session verifies it anyway.
HAS_DEVICE = "hitl_two_factor_device"


@receiver(user_logged_in, dispatch_uid="hitl-two-factor-device")
def _note_device(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[HAS_DEVICE] = user_has_device(user)


def must_verify(request, user) -> bool:
    """Staff who are required to use a second factor, or have one (a device not used at sign-in
    would protect nothing), and have not used it in this session."""
    if not (user.is_authenticated and user.is_active and user.is_staff) or _verified(user):
        return False
    if two_factor_required(user):
        return True
    if HAS_DEVICE not in request.session:  # a session from before this rule: ask once
        request.session[HAS_DEVICE] = user_has_device(user)
    return bool(request.session[HAS_DEVICE])


class RequireTwoFactorMiddleware:
    """Staff pages (admin, sandbox) only after the second factor, for those who must use one."""

    PROTECTED = ("/admin/", "/sandbox/app/", "/ops/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path.startswith(self.PROTECTED) and not self._exempt(path):
            user = getattr(request, "user", None)
            if user is not None and must_verify(request, user):
                return redirect(f"{reverse('two-factor')}?next={request.get_full_path()}")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        open_paths = (reverse("two-factor"), reverse("admin:logout"), reverse("admin:login"))
        # The passkey ceremonies check the session themselves (core/passkeys.py).
        return path in open_paths or path.startswith(("/admin/jsi18n/", "/admin/two-factor/passkeys/"))


def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app or a passkey, or confirm this session with either."""
    from core.passkeys import passkeys_of

    user = request.user
    verified = _verified(user)
    enrolled = user_has_device(user)
    totp = has_totp(user)
    # A new factor only for someone with none yet, or who has used theirs in this session: a
    # stolen password must not be enough to add the thief's own authenticator.
    may_add = verified or not enrolled
    device = None
    if may_add and not totp:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name=DEVICE_NAME, confirmed=False
        )
    error = ""
    if request.method == "POST":
        token = (request.POST.get("otp_token") or "").strip().replace(" ", "")
        verified_device = None
        if totp:
            verified_device = match_token(user, token) if token.isdigit() else None
        elif device is not None and token.isdigit() and device.verify_token(token):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            verified_device = device
        if verified_device is not None:
            if not verified:
                otp_login(request, verified_device)
            messages.success(request, "Two-factor sign-in is on for this session.")
            target = request.POST.get("next") or ""
            safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
            return redirect(target if target and safe else "admin:index")
        error = "That code is not right (or was already used); enter the current one from your app."
    passkeys = list(passkeys_of(user))
    context = {
        **_site_context(request),
        "title": "Two-factor sign-in",
        "enrolled": enrolled,
        "verified": verified,
        "required": two_factor_required(user),
        "has_totp": totp,
        "passkeys": passkeys,
        "may_add": may_add,
        "device": device,
        "secret": _grouped(device.bin_key) if device else "",
        "otpauth_url": device.config_url if device else "",
        "error": error,
        "next": request.GET.get("next") or request.POST.get("next") or "",
    }
    return TemplateResponse(request, "admin/two_factor.html", context, status=400 if error else 200)


def _grouped(key: bytes) -> str:
    import base64

    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _site_context(request):
    from django.contrib import admin

    return admin.site.each_context(request)
