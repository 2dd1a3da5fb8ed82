"""Validation of bot callback URLs (SSRF guard).

Used when an escalation is started (the bot's `callback_url`), when attachment URLs are fetched, and
again by callback delivery right before each POST: DNS can change between the two, so checking only
once would let a host that first resolved to a public address later point us at 127.0.0.1 or the
cloud metadata service (169.254.169.254).

`HITL_ALLOW_PRIVATE_CALLBACKS` (on in local/test profiles, off in base/production) allows plain
http and private/loopback targets so a developer's receiver on localhost works.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2000


class CallbackURLError(ValueError):
    """A URL we refuse to call; the message is meant for the bot developer."""


def _allow_private() -> bool:
    return bool(getattr(settings, "HITL_ALLOW_PRIVATE_CALLBACKS", False))


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # An IPv4-mapped IPv6 address (::ffff:127.0.0.1) must be judged as the IPv4 address it wraps.
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def resolve_addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address the host resolves to (a literal IP resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise CallbackURLError(f"The host {host!r} could not be resolved ({exc}).") from None
    addresses = []
    for info in infos:
        raw = info[4][0].split("%", 1)[0]  # drop an IPv6 zone id
        try:
            addresses.append(ipaddress.ip_address(raw))
        except ValueError:
            continue
    if not addresses:
        raise CallbackURLError(f"The host {host!r} did not resolve to any address.")
    return addresses


def validate_callback_url(url: str, *, what: str = "callback_url") -> str:
    """Return the URL unchanged if we may call it, else raise CallbackURLError saying why.

    `what` names the field in the message ("callback_url", "attachments[0].url").
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
    if allow_private:
        return url
    for address in resolve_addresses(host, port or (443 if scheme == "https" else 80)):
        if not _is_public(address):
            raise CallbackURLError(
                f"{what}: the host {host!r} resolves to {address}, a private, loopback, link-local or "
                "reserved address, which is refused (HITL_ALLOW_PRIVATE_CALLBACKS is off)."
            )
    return url
