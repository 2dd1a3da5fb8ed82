"""The sandbox's HubSpot API: same paths, auth rules, bodies and errors as api.hubapi.com.

Mounted at /sandbox/api/ (HUBSPOT_API_BASE). HubSpot's official SDKs, pointed here with strict
response validation, parse every answer (tests/sandbox/test_sdk_*.py). The map is in urls.py;
every view runs inside sandbox/api/endpoint.py (injected failures, auth, rate limit, errors).

Modules: oauth (tokens, info, introspect, revoke), channels (custom channels, developer key),
channel_accounts, messages (publish / get / status), inbox (inboxes, channels, threads, thread
messages, actors), contacts (CRM search / get), files (upload, get, signed URL, download),
webhook_settings (webhooks API). Shapes come from sandbox/serializers.py, behaviour from
sandbox/domain.py, so the agent console and the webhooks see exactly what the API returns.

Where the sandbox knowingly differs from HubSpot (each chosen for a reason):

* Thread creation for an unknown sender creates no CRM contact; see sandbox/domain.py.
* A replayed `integrationIdempotencyId` answers 200 (the first publish answered 201).
* Cursors are offsets; rate limiting uses fixed 10-second windows, not a rolling one.
* `/oauth/v1/access-tokens/{token}` answers 404 for an expired or revoked token; the 2026-03
  introspection reports the same token with `active: false`.
* Not served: channel-account staging tokens, sending into a thread through the inbox API, thread
  assignee endpoints, message original-content, and every API the portal does not use.
"""
