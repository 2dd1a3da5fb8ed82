"""The sandbox's HubSpot API: same paths, auth rules, bodies and errors as api.hubapi.com."""
