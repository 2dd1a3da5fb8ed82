"""A person renames or removes their own passkeys, from the two-factor page.

Both are form POSTs to `/admin/two-factor/passkey/<id>/rename/` and `…/remove/`, served through
`admin_site.admin_view` (signed-in staff, CSRF checked, never cached). Outside the ceremonies'
prefix on purpose: RequireTwoFactorMiddleware guards them, so a session that has not used its
second factor (a stolen password) is sent to confirm first, and the views refuse it again.

* **Owner only.** The passkey is looked up among the signed-in person's own: another account's,
  or none, is a 404 (no hint that it exists).
* **Not the last required factor.** Someone whose account must use a second factor cannot remove
  the one they have left: they add another first.
* **Audited.** One entry per change (`passkey.rename`, `passkey.remove`), with the person as actor.
* **POST/redirect/GET** back to the two-factor page, with a message. A GET changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp_webauthn.models import WebAuthnCredential

from core import audit
from core.two_factor import HAS_DEVICE, two_factor_required

NAME_MAX = Device._meta.get_field("name").max_length


def _own_passkey(request: HttpRequest, pk: int) -> WebAuthnCredential:
    if not request.user.is_verified():
        raise PermissionDenied("Confirm this sign-in with your second factor first.")
    passkey = WebAuthnCredential.objects.filter(user=request.user, pk=pk, confirmed=True).first()
    if passkey is None:
        raise Http404("No such passkey.")
    return passkey


@require_POST
def rename(request: HttpRequest, pk: int) -> HttpResponse:
    passkey = _own_passkey(request, pk)
    name = " ".join((request.POST.get("name") or "").split())
    if not name or len(name) > NAME_MAX:
        messages.error(request, f"A passkey's name is 1 to {NAME_MAX} characters.")
        return redirect("two-factor")
    old = passkey.name
    if name != old:
        passkey.name = name
        passkey.save(update_fields=["name"])
        audit.record(
            "passkey.rename",
            actor=request.user,
            target=passkey,
            message=f"Renamed a passkey from {old or 'Passkey'!r} to {name!r}.",
            details={"from": old, "to": name},
        )
    messages.success(request, f"The passkey is named {name!r}.")
    return redirect("two-factor")


@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    passkey = _own_passkey(request, pk)
    others = [d for d in devices_for_user(user, confirmed=True) if d != passkey]
    if not others and two_factor_required(user):
        messages.error(
            request, "Your account must use a second factor: add another one before removing this one."
        )
        return redirect("two-factor")
    label = passkey.name or "Passkey"
    audit.record("passkey.remove", actor=user, target=passkey, message=f"Removed the passkey {label!r}.")
    passkey.delete()
    # The sign-in's note of "has a device" must follow, or a person with none left would be asked
    # for one on every page.
    request.session[HAS_DEVICE] = user_has_device(user)
    messages.success(request, f"Removed the passkey {label!r}.")
    return redirect("two-factor")
