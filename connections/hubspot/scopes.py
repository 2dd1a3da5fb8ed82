"""The OAuth scopes a HubSpot app asks a portal for, and how a grant compares with them.

`oauth` is the scope every HubSpot OAuth app carries (HubSpot adds it to new apps and lists it in
the token's scopes); the others are what the portal's calls need: custom channels and their
accounts and messages, the inbox (threads, actors), contact search, and the files API for
attachments. An app's record may ask for more (required or optional), never for less than these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PORTAL_SCOPES = (
    "oauth",
    "conversations.custom_channels.read",
    "conversations.custom_channels.write",
    "conversations.read",
    "conversations.write",
    "crm.objects.contacts.read",
    "files",
)


def default_required_scopes() -> list[str]:
    return list(PORTAL_SCOPES)


def normalise(scopes: Iterable[str] | str | None) -> list[str]:
    """Unique scope names in their first order; accepts a space/comma separated string too."""
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    return list(dict.fromkeys(s.strip() for s in scopes or () if s and s.strip()))


@dataclass(frozen=True)
class ScopeReport:
    """What a connection holds against what its app asks for."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    granted: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s for s in self.required if s not in self.granted)

    @property
    def granted_optional(self) -> tuple[str, ...]:
        return tuple(s for s in self.optional if s in self.granted)

    @property
    def extra(self) -> tuple[str, ...]:
        """Granted, but no longer asked for by the app (kept by HubSpot until the app drops it)."""
        asked = set(self.required) | set(self.optional)
        return tuple(s for s in self.granted if s not in asked)

    @property
    def ok(self) -> bool:
        return not self.missing


def report(app, granted: Iterable[str]) -> ScopeReport:
    return ScopeReport(
        required=tuple(normalise(app.required_scopes)),
        optional=tuple(normalise(app.optional_scopes)),
        granted=tuple(normalise(granted)),
    )


def install_scopes(app) -> tuple[list[str], list[str]]:
    """(scope, optional_scope) for the install URL, exactly as the app is configured in HubSpot
    (HubSpot refuses an install URL whose required scopes differ from the app's settings)."""
    required = normalise(app.required_scopes)
    optional = [s for s in normalise(app.optional_scopes) if s not in required]
    return required, optional


def dropped(before: Iterable[str], after: Iterable[str]) -> list[str]:
    """Scopes a portal had granted that a new grant (a reconnect) no longer holds."""
    now = set(normalise(after))
    return [s for s in normalise(before) if s not in now]
