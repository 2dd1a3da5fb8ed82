"""HubSpot webhook URLs, mounted at /webhooks/hubspot/."""

urlpatterns: list = []
