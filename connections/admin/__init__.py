"""Admin of the connections app: HubSpot apps, and each connection as an operations console.

Importing the modules registers their ModelAdmins (Django's autodiscover imports this package).
"""

from connections.admin import developer  # noqa: F401 - registers its actions
from connections.admin.connection import ConnectionAdmin
from connections.admin.handoff import ConnectedInboxAdmin
from connections.admin.hubspot_app import HubSpotAppAdmin

__all__ = ["ConnectedInboxAdmin", "ConnectionAdmin", "HubSpotAppAdmin"]
