"""Admin of the conversations app. Importing the modules registers their ModelAdmins (Django's
autodiscover imports this package)."""

from conversations.admin.escalations import EscalationAdmin

__all__ = ["EscalationAdmin"]
