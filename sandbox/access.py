"""Who may use the sandbox's pages.

The sandbox is a demo of HubSpot that ships with the portal: its console acts as any HubSpot
agent, its chat page drives a bot with a real bot API key and its consent page hands out
authorization codes. None of that may be open to whoever reaches the server, even on a developer's
machine reachable from a LAN, so every page needs a signed-in staff user of the portal (the admin
login). Two endpoints stay open because machines call them, each with its own credential: the
file download (an unguessable per-file token, as HubSpot's signed file URLs) and the demo bot's
callback receiver (the portal's signed callbacks).
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.urls import URLPattern

from tenants.models import Role, tenant_ids_for


def staff_only(patterns: list[URLPattern], *, open_names: tuple[str, ...] = ()) -> list[URLPattern]:
    """The patterns with every view but `open_names` behind the admin login (staff only)."""
    for pattern in patterns:
        if pattern.name not in open_names:
            pattern.callback = staff_member_required(pattern.callback)
    return patterns


def connectable_portals(user, portals):
    """The sandbox portals `user` may install an app into: any a superuser likes; for others none
    that another organisation has already connected (a HubSpot account belongs to one customer)."""
    from connections.models import Connection

    if user.is_superuser:
        return portals
    own = tenant_ids_for(user, (Role.ADMIN,))
    taken = Connection.objects.exclude(tenant_id__in=own).values("portal_id")
    return portals.exclude(portal_id__in=taken)
