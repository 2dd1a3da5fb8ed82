"""The sandbox's stand-in for app.hubspot.com/oauth/authorize: the page where an admin installs an app.

The portal sends the admin to `{HUBSPOT_APP_BASE}/oauth/authorize?client_id=&redirect_uri=&scope=
&optional_scope=&state=` (contract §4.8). Like HubSpot, a request that cannot be trusted to redirect
(unknown client_id, a redirect_uri the app did not register, no scope) gets an error page and no
redirect; otherwise the person picks a portal and approves, which issues a one-time code bound to
app, portal, redirect URI and scopes, or denies, which redirects with `error=access_denied`.

HubSpot's login is stood in for by the portal's own: the page needs a signed-in staff user, who
may pick only the accounts their organisation may connect (sandbox/access.py), and types the email
of the "HubSpot user" who installs. Only redirect URIs registered for the app are accepted (an
app with none registered accepts none, as HubSpot). The token exchange that consumes codes lives
in the sandbox API.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from sandbox.access import connectable_portals
from sandbox.models import SandboxActor, SandboxApp, SandboxAuthCode, SandboxPortal

CODE_TTL = timedelta(minutes=10)
DENIED_DESCRIPTION = "The user denied the request to install the app."


class ConsentError(Exception):
    """A request the page must refuse without redirecting (HubSpot shows an error page too)."""


class ConsentRequest:
    """The validated query of an authorize URL."""

    def __init__(self, params) -> None:
        self.client_id = (params.get("client_id") or "").strip()
        self.redirect_uri = (params.get("redirect_uri") or "").strip()
        self.state = params.get("state")
        # Space-separated lists; '+' and %20 both arrive as spaces.
        self.scopes = _split(params.get("scope"))
        self.optional_scopes = [s for s in _split(params.get("optional_scope")) if s not in self.scopes]
        self.app = SandboxApp.objects.filter(client_id=self.client_id).first() if self.client_id else None

    def validate(self) -> None:
        if not self.client_id:
            raise ConsentError("The authorization link has no client_id.")
        if self.app is None:
            raise ConsentError(f"No app has the client ID {self.client_id!r}.")
        if not self.redirect_uri:
            raise ConsentError("The authorization link has no redirect_uri.")
        parts = urlsplit(self.redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConsentError("The redirect_uri must be an absolute http(s) URL.")
        if not self.app.redirect_urls:
            raise ConsentError("The app has no redirect URL registered; register one in the app's settings.")
        if self.redirect_uri not in self.app.redirect_urls:
            raise ConsentError(
                "The redirect_uri does not match any redirect URL registered for this app "
                f"({', '.join(self.app.redirect_urls)})."
            )
        if not self.scopes:
            raise ConsentError("The authorization link requests no scope; HubSpot requires at least one.")

    def redirect(self, **params: str) -> HttpResponseRedirect:
        """Back to the app with `params` (and state, when one was sent), keeping its own query."""
        if self.state is not None:
            params["state"] = self.state
        parts = urlsplit(self.redirect_uri)
        query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
        return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


def _split(value: str | None) -> list[str]:
    seen: list[str] = []
    for scope in (value or "").replace(",", " ").split():
        if scope not in seen:
            seen.append(scope)
    return seen


class ConsentForm(forms.Form):
    portal = forms.ModelChoiceField(
        queryset=SandboxPortal.objects.all(),
        empty_label=None,
        label="Install in account",
        to_field_name="portal_id",
    )
    user_email = forms.EmailField(label="Signed in as (HubSpot user email)")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["portal"].queryset = connectable_portals(user, SandboxPortal.objects.all())


def _default_email(portal: SandboxPortal | None) -> str:
    if portal is not None:
        agent = (
            SandboxActor.objects.filter(portal=portal, type=SandboxActor.Type.AGENT).exclude(email="").first()
        )
        if agent:
            return agent.email
        return f"admin@{portal.hub_domain or 'example.com'}"
    return "admin@example.com"


@staff_member_required
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    # The form posts back to the same URL, so the authorize query is read from it both times.
    consent = ConsentRequest(request.GET)
    try:
        consent.validate()
    except ConsentError as exc:
        return render(request, "sandbox/consent_error.html", {"error": str(exc)}, status=400)

    if request.method == "POST" and request.POST.get("decision") == "deny":
        return consent.redirect(error="access_denied", error_description=DENIED_DESCRIPTION)

    if request.method == "POST":
        form = ConsentForm(request.POST, user=request.user)
        if form.is_valid():
            portal = form.cleaned_data["portal"]
            code = SandboxAuthCode.objects.create(
                code=str(uuid.uuid4()),
                app=consent.app,
                portal=portal,
                # Optional scopes are granted whenever the account can grant them: in the sandbox, always.
                scopes=[*consent.scopes, *consent.optional_scopes],
                redirect_uri=consent.redirect_uri,
                user_email=form.cleaned_data["user_email"],
                expires_at=timezone.now() + CODE_TTL,
            )
            return consent.redirect(code=code.code)
    else:
        first = connectable_portals(request.user, SandboxPortal.objects.all()).first()
        form = ConsentForm(
            initial={"portal": first.portal_id if first else None, "user_email": _default_email(first)},
            user=request.user,
        )

    return render(
        request,
        "sandbox/consent.html",
        {
            "consent": consent,
            "app": consent.app,
            "form": form,
            "has_portals": form.fields["portal"].queryset.exists(),
            "redirect_host": urlsplit(consent.redirect_uri).netloc,
        },
    )
