"""The sandbox's agent console: a small stand-in for HubSpot's inbox UI (app.hubspot.com).

A person picks a portal and inbox, reads threads the portal's bots escalated, and acts as one of
the portal's agents (assign, reply with attachments, close, reopen). Every action goes through the
same domain functions as the sandbox API, so it fires the same webhooks HubSpot would. There is no
login: it is mounted only when HUBSPOT_SANDBOX is on, as a demo and test tool.
"""
