"""Admin of the conversations app: escalations (the support-lead console), the webhook and
callback logs (read-only) and the dashboard.

Importing the modules registers their ModelAdmins (Django's autodiscover imports this package);
`dashboard` adds its page to the admin site.
"""

from conversations.admin import dashboard
from conversations.admin.callbacks import CallbackAttemptAdmin, EscalationEventAdmin
from conversations.admin.escalations import EscalationAdmin
from conversations.admin.webhooks import HubSpotEventAdmin, WebhookReceiptAdmin

__all__ = [
    "CallbackAttemptAdmin",
    "EscalationAdmin",
    "EscalationEventAdmin",
    "HubSpotEventAdmin",
    "WebhookReceiptAdmin",
    "dashboard",
]
