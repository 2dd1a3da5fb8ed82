"""The demo HubSpot: one portal with two inboxes, contacts, agents and an app already installed.

`seed_demo` is idempotent: rows are found by their natural keys, and secrets are generated only
the first time, so a second run changes nothing and reports the same credentials. The refresh
token it reports is the one a real install would give the portal after the consent screen.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from sandbox.models import (
    SandboxActor,
    SandboxApp,
    SandboxBehaviour,
    SandboxContact,
    SandboxInbox,
    SandboxPortal,
    SandboxToken,
)

PORTAL_ID = 20260301
APP_ID = 4242001
INBOXES = ((90000101, "Support", "INBOX"), (90000102, "Sales", "HELP_DESK"))
# Fictional numbers from ranges reserved for drama/testing (UK Ofcom 07700 900xxx, US 555-01xx).
CONTACTS = (
    ("ada@example.com", "+447700900001", "Ada", "Lovelace"),
    ("grace@example.com", "+15550100002", "Grace", "Hopper"),
    ("alan@example.com", "+447700900003", "Alan", "Turing"),
    ("katherine@example.com", "+15550100004", "Katherine", "Johnson"),
    ("edsger@example.org", "+31612345005", "Edsger", "Dijkstra"),
)
# Phones as people type them into HubSpot (its `phone` keeps the text): a search by E.164 alone
# misses all of these, HubSpot's calculated searchable properties find them. The last two are one
# person entered twice, the way duplicates happen in a real CRM.
MIXED_FORMAT_CONTACTS = (
    ("ines@example.com", "+44 7700 900006", "Ines", "Spaced"),
    ("lin@example.com", "07700 900007", "Lin", "National"),
    ("omar@example.com", "(415) 555-0108", "Omar", "Local"),
    ("sam@example.com", "+44 7700 900009", "Sam", "Twice"),
    ("sam.work@example.com", "07700 900009", "Sam", "Twice"),
)
AGENTS = (
    ("A-1001", "Alice Agent", "alice.agent@demo-company.example"),
    ("A-1002", "Bob Support", "bob.support@demo-company.example"),
    ("A-1003", "Carol Lead", "carol.lead@demo-company.example"),
)
SCOPES = [
    "oauth",
    "conversations.custom_channels.read",
    "conversations.custom_channels.write",
    "conversations.read",
    "conversations.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "files",
    "conversations.visitor_identification.tokens.create",
]


def _hubspot_like_refresh_token() -> str:
    return f"na1-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"


@transaction.atomic
def seed_demo(base_url: str | None = None) -> dict:
    base_url = (base_url or settings.PUBLIC_BASE_URL).rstrip("/")
    SandboxBehaviour.current()
    portal, _ = SandboxPortal.objects.get_or_create(
        portal_id=PORTAL_ID,
        defaults={"name": "Demo Company", "hub_domain": "demo-company.sandbox.hubspot.example"},
    )
    app, _ = SandboxApp.objects.get_or_create(
        app_id=APP_ID,
        defaults={
            "name": "HITL Portal",
            "client_id": str(uuid.uuid4()),
            "client_secret": str(uuid.uuid4()),
            "developer_api_key": str(uuid.uuid4()),
        },
    )
    # The portal's OAuth callback, registered as HubSpot's app settings would have it: the consent
    # page accepts registered redirect URIs only.
    callback = base_url + reverse("connections:oauth-callback")
    if callback not in app.redirect_urls:
        app.redirect_urls = [*app.redirect_urls, callback]
        app.save(update_fields=["redirect_urls"])
    inboxes = [
        SandboxInbox.objects.get_or_create(
            inbox_id=inbox_id, defaults={"portal": portal, "name": name, "type": kind}
        )[0]
        for inbox_id, name, kind in INBOXES
    ]
    contacts = [
        SandboxContact.objects.get_or_create(
            portal=portal,
            email=email,
            defaults={"phone": phone, "mobilephone": phone, "firstname": first, "lastname": last},
        )[0]
        for email, phone, first, last in CONTACTS
    ]
    mixed = [
        SandboxContact.objects.get_or_create(
            portal=portal,
            email=email,
            defaults={"phone": phone, "firstname": first, "lastname": last},
        )[0]
        for email, phone, first, last in MIXED_FORMAT_CONTACTS
    ]
    agents = [
        SandboxActor.objects.get_or_create(
            portal=portal,
            actor_id=actor_id,
            defaults={"type": SandboxActor.Type.AGENT, "name": name, "email": email},
        )[0]
        for actor_id, name, email in AGENTS
    ]
    SandboxActor.objects.get_or_create(
        portal=portal,
        actor_id=f"I-{app.app_id}",
        defaults={"type": SandboxActor.Type.INTEGRATOR, "name": app.name},
    )
    installer = agents[0]
    refresh = (
        SandboxToken.objects.filter(
            kind=SandboxToken.Kind.REFRESH,
            app=app,
            portal=portal,
            user_email=installer.email,
            revoked_at=None,
        )
        .order_by("id")
        .first()
    )
    if refresh is None:
        refresh = SandboxToken.objects.create(
            kind=SandboxToken.Kind.REFRESH,
            token=_hubspot_like_refresh_token(),
            app=app,
            portal=portal,
            scopes=SCOPES,
            user_email=installer.email,
            user_id=int(installer.actor_id.removeprefix("A-")),
        )
    return {
        "api_base": f"{base_url}/sandbox/api",
        "app_base": f"{base_url}/sandbox/app",
        "portal_id": portal.portal_id,
        "hub_domain": portal.hub_domain,
        "app_id": app.app_id,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "developer_api_key": app.developer_api_key,
        "refresh_token": refresh.token,
        "scopes": list(refresh.scopes),
        "inbox_ids": [inbox.inbox_id for inbox in inboxes],
        "contacts": [{"id": c.pk, "email": c.email, "phone": c.phone} for c in contacts],
        "mixed_format_contacts": [{"id": c.pk, "email": c.email, "phone": c.phone} for c in mixed],
        "agents": [{"id": a.actor_id, "name": a.name, "email": a.email} for a in agents],
    }
