"""HTTP sessions for requests to addresses a bot chose (callbacks, attachment fetches): SSRF defence
at connect time.

Checking a host name's addresses and then letting `requests` resolve it again to connect leaves a
window: a DNS answer that changes in between (rebinding) reaches 127.0.0.1 or the cloud metadata
service. The adapter here resolves once, judges that address and connects to exactly it, while TLS
still verifies the certificate for, and sends SNI with, the host name (requests-hardened does the
pinning; we add a stricter notion of "public" on top).

Every refusal raises `AddressRefused`, a `requests.ConnectionError` carrying no address: callers
report it exactly like an unreachable host, so neither the API nor the callback log can be used to
learn what a name resolves to or which internal ports are open.

`HITL_ALLOW_PRIVATE_CALLBACKS` (local and test profiles only) gives a plain session so a
developer's receiver on localhost works.
"""

from __future__ import annotations

import ipaddress

import requests
from django.conf import settings
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES, InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that embed or route to an IPv4 address, or are deprecated local scopes, which older
# Pythons' `is_global` still calls global.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def is_public(address: Address) -> bool:
    """True only for a globally routable unicast address (never loopback, private, link-local,
    site-local, multicast, reserved, shared, 6to4, Teredo, NAT64 or IPv4-compatible)."""
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if (
            address in _IPV4_COMPATIBLE
            or address in _SITE_LOCAL
            or address.sixtofour is not None
            or address.teredo is not None
        ):
            return False
    if not address.is_global:
        return False
    if address.is_multicast or address.is_reserved or address.is_loopback or address.is_link_local:
        return False
    return not any(address in network for network in EXTRA_BLOCKED_NET_RANGES)


def allow_private() -> bool:
    return bool(getattr(settings, "HITL_ALLOW_PRIVATE_CALLBACKS", False))


class AddressRefused(requests.ConnectionError):
    """The host resolved to an address we never connect to. Reads like any connection failure."""

    def __init__(self) -> None:
        super().__init__("could not connect to the host")


class PinnedAddressAdapter(IPFilterAdapter):
    """Resolve once, refuse a non-public address, connect to the address that was checked."""

    def __init__(self, *, is_https_proto: bool) -> None:
        super().__init__(is_https_proto=is_https_proto, allow_loopback=False)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        try:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        except InvalidIPAddress:
            raise AddressRefused() from None
        except requests.ConnectionError:
            # DNS failure: the same words as a refusal, no resolver detail.
            raise AddressRefused() from None
        pinned = ipaddress.ip_address(host_params["host"].strip("[]"))
        if not is_public(pinned):
            raise AddressRefused()
        return host_params, pool_kwargs


def session(*, private_allowed: bool | None = None) -> requests.Session:
    """A new session for bot-chosen URLs. Proxies from the environment are ignored: the check must
    judge the address we really connect to."""
    result = requests.Session()
    result.trust_env = False
    if private_allowed is None:
        private_allowed = allow_private()
    if not private_allowed:
        result.mount("http://", PinnedAddressAdapter(is_https_proto=False))
        result.mount("https://", PinnedAddressAdapter(is_https_proto=True))
    return result
