"""Receiving HubSpot's webhooks: signature verification, storage, dispatch."""
