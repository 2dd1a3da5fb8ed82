"""HubSpot API paths served by the sandbox (mounted at HUBSPOT_API_BASE)."""

urlpatterns: list = []
