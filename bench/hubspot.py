"""What HubSpot would send: v3-signed webhook requests with fresh timestamps, and their bodies.

Signed with the sandbox's signer (sandbox/webhooks.py: `sign_v3`, written independently of the
portal's verifier and checked against hubspot-api-client in the tests) over the URL the portal
knows itself by (PUBLIC_BASE_URL + path), as HubSpot signs the URL it calls.
"""

from __future__ import annotations

import json
import time

from bench.load import build
from sandbox.webhooks import sign_v3


class Signer:
    def __init__(self, client_secret: str, public_base_url: str, port: int):
        self.secret, self.base, self.port = client_secret, public_base_url.rstrip("/"), port

    def request(self, path: str, body: bytes) -> bytes:
        timestamp = str(int(time.time() * 1000))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (namespace: webhooks-nio)",
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": sign_v3(self.secret, "POST", self.base + path, body, timestamp),
            "X-HubSpot-Signature-Version": "v3",
        }
        return build("POST", path, self.port, body, headers)


def app_events(first_event_id: int, count: int, *, portal_id: int, app_id: int) -> bytes:
    """A batch of `conversation.newMessage` events, each new (its own eventId) and for a thread
    that is not ours: the ingest path stores and enqueues it; the worker later ignores it."""
    now = int(time.time() * 1000)
    events = [
        {
            "eventId": first_event_id + k,
            "subscriptionId": 102,
            "portalId": portal_id,
            "appId": app_id,
            "occurredAt": now,
            "subscriptionType": "conversation.newMessage",
            "attemptNumber": 0,
            "objectId": 7_000_000_000 + first_event_id + k,
            "changeSource": "CRM_UI",
            "messageId": f"m{first_event_id + k:032x}",
            "messageType": "MESSAGE",
            "changeFlag": "NEW_MESSAGE",
        }
        for k in range(count)
    ]
    return json.dumps(events, separators=(",", ":")).encode()


def relay_prefix(run_id: str, rate: int) -> str:
    """The text of the relay's replies at `rate` in run `run_id`, before each reply's number."""
    return f"bench relay {run_id} r{rate} "


def message_id(marker: str) -> str:
    """The HubSpot message (and event) id of the reply whose text is `marker`."""
    return marker.replace(" ", "-")


def agent_reply(escalation: dict, *, marker: str, portal_id: int, channel_id: str) -> bytes:
    """OUTGOING_CHANNEL_MESSAGE_CREATED: an agent's reply typed in HubSpot's inbox, as recorded in
    tests/fixtures/hubspot_webhooks/OUTGOING_CHANNEL_MESSAGE_CREATED__text.json."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    account = escalation["channel_account_id"]
    body = {
        "type": "OUTGOING_CHANNEL_MESSAGE_CREATED",
        "portalId": str(portal_id),
        "channelId": channel_id,
        "channelAccountId": account,
        "eventId": message_id(marker),
        "eventTimestamp": now,
        "channelIntegrationThreadIds": [escalation["integration_thread_id"]],
        "message": {
            "id": message_id(marker),
            "type": "MESSAGE",
            "archived": False,
            "conversationsThreadId": escalation["thread_id"],
            "client": {"clientType": "HUBSPOT"},
            "createdAt": now,
            "createdBy": "A-1001",
            "senders": [
                {
                    "actorId": "A-1001",
                    "deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": account},
                    "name": "Alice Agent",
                }
            ],
            "recipients": [{"actorId": "V-1", "name": "Relay user"}],
            "text": marker,
            "attachments": [],
            "channelId": channel_id,
            "channelAccountId": account,
            "direction": "OUTGOING",
            "truncationStatus": "NOT_TRUNCATED",
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()
