"""Sign-in hardening helpers: the client address django-axes counts failures against."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR, or behind `HITL_TRUSTED_PROXY_COUNT` proxies the address the outermost one saw.

    Only hops our own proxies appended are trusted: the left part of X-Forwarded-For is whatever
    the client sent, and trusting it would let an attacker pick a fresh address per attempt.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = getattr(settings, "HITL_TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    return hops[-count] if len(hops) >= count else remote
