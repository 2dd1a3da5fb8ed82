"""The URLs HubSpot posts to for one app: app webhooks (subscriptions) and custom-channel events.

Each app has its own unguessable `webhook_token` in the path (one webhook URL per app),
so a request tells us which app, and therefore which client secret, to verify it against before
anything is parsed. The views behind these paths come with the webhooks issue; until then the
URLs are built from PUBLIC_BASE_URL rather than reversed, because HubSpot must be given the public
origin, never whatever host a request happened to arrive on.
"""

from django.conf import settings


def _base(app) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/webhooks/hubspot/{app.webhook_token}"


def app_webhook_url(app) -> str:
    """Target URL of the app's webhook subscriptions (conversation.* events, a JSON array)."""
    return f"{_base(app)}/app/"


def channel_webhook_url(app) -> str:
    """`webhookUrl` of the app's custom channel (agent replies and channel events)."""
    return f"{_base(app)}/channel/"
