"""Validation of bot callback URLs (SSRF guard).

Used when an escalation is started (the bot's `callback_url`, so a bad URL is a clear 400 at once),
and for the form of the URL when attachment URLs are fetched and callbacks are sent. The address
check that protects the connection is made at connect time, on the address really connected to
(core.outbound): DNS can change between a check and a connect (rebinding).

Messages never say what a host resolves to: an unresolvable host and one resolving to a private
address read the same.

`HITL_ALLOW_PRIVATE_CALLBACKS` (on in local/test profiles, off in base/production) allows plain
http and private/loopback targets so a developer's receiver on localhost works.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from core.outbound import allow_private, is_public

MAX_URL_LENGTH = 2000


class CallbackURLError(ValueError):
    """A URL we refuse to call; the message is meant for the bot developer."""


def _allow_private() -> bool:
    return allow_private()


def _not_public(what: str, host: str) -> CallbackURLError:
    return CallbackURLError(
        f"{what}: the host {host!r} does not resolve to a public internet address; only public "
        "https:// endpoints can be called (HITL_ALLOW_PRIVATE_CALLBACKS is off)."
    )


def resolve_addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address the host resolves to (a literal IP resolves to itself); [] if none."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    addresses = []
    for info in infos:
        raw = info[4][0].split("%", 1)[0]  # drop an IPv6 zone id
        try:
            addresses.append(ipaddress.ip_address(raw))
        except ValueError:
            continue
    return addresses


def validate_callback_url(url: str, *, what: str = "callback_url", resolve: bool = True) -> str:
    """Return the URL unchanged if we may call it, else raise CallbackURLError saying why.

    `what` names the field in the message ("callback_url", "attachments[0].url"). `resolve=False`
    checks the URL's form only, for callers that connect through core.outbound (which judges the
    address at connect time and reports a refusal like any unreachable host).
    """
    if not isinstance(url, str) or not url.strip():
        raise CallbackURLError(f"{what}: give an absolute https:// URL.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise CallbackURLError(f"{what}: at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CallbackURLError(f"{what}: not a valid URL.") from None
    allow_private = _allow_private()
    scheme = parts.scheme.lower()
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed_schemes:
        raise CallbackURLError(f"{what}: must be an https:// URL (got {scheme or 'no scheme'}).")
    host = parts.hostname
    if not host:
        raise CallbackURLError(f"{what}: the URL has no host.")
    if parts.username or parts.password:
        raise CallbackURLError(f"{what}: credentials in the URL are not allowed; use the signature instead.")
    if allow_private or not resolve:
        return url
    addresses = resolve_addresses(host, port or (443 if scheme == "https" else 80))
    if not addresses or not all(is_public(address) for address in addresses):
        raise _not_public(what, host)
    return url
