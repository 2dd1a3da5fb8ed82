"""Can this connection receive and answer conversations? One checklist, from what we already know.

`check_health` (connections/health.py) asks HubSpot; this reads only our own records, so the
connection's page can show it on every load: token, scopes, inboxes, channel, channel accounts,
webhooks, first signed event. `ready` is True only when every step is done, so the page never
shows an all-good state while one is missing. A step says how it gets done: automatically
(`auto`: the portal does it in the flow, or a button does), or by hand (`manual`: where HubSpot
gives us no way, e.g. webhooks of an app without a developer API key).

Webhooks are "done" when the latest automatic set-up succeeded and no later health check found
them missing; "first signed event" when HubSpot has sent this portal one correctly signed event
(proof that the whole path, HubSpot to us, works).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connections.consent import REQUIRED_SCOPES
from connections.models import (
    ConnectionStatus,
    CustomChannel,
    InboxState,
)
from core.models import AuditLogEntry

DONE, MISSING, WAITING = "done", "missing", "waiting"


@dataclass
class Step:
    name: str
    label: str
    state: str  # done | missing | waiting (nothing for a person to do but wait)
    message: str
    manual: bool = False  # only a person can do it (in HubSpot)
    anchor: str = ""  # the panel of the page where it is done


@dataclass
class Readiness:
    steps: list[Step] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(step.state == DONE for step in self.steps)

    @property
    def done(self) -> int:
        return sum(step.state == DONE for step in self.steps)

    @property
    def remaining(self) -> list[Step]:
        return [step for step in self.steps if step.state != DONE]


def readiness(connection, *, can_set_up_webhooks: bool = True) -> Readiness:
    steps = [_token(connection), _scopes(connection)]
    inboxes = list(connection.inboxes.exclude(state=InboxState.REMOVED))
    steps.append(
        Step("inboxes", "Inboxes", DONE, f"{len(inboxes)} inbox{'es' if len(inboxes) != 1 else ''} chosen.")
        if inboxes
        else Step(
            "inboxes", "Inboxes", MISSING, "Pick the HubSpot inboxes agents answer in.", anchor="inboxes"
        )
    )
    channel = CustomChannel.objects.filter(app_id=connection.app_id).exclude(channel_id="").first()
    steps.append(
        Step("channel", "Custom channel", DONE, f"Channel {channel.channel_id} registered.")
        if channel
        else Step("channel", "Custom channel", MISSING, "Register the channel.", anchor="registration")
    )
    steps.append(_accounts(inboxes))
    steps.append(_webhooks(connection, can_set_up_webhooks))
    steps.append(_first_event(connection))
    return Readiness(steps)


def _token(connection) -> Step:
    if connection.status == ConnectionStatus.ACTIVE and connection.refresh_token:
        return Step("token", "Access token", DONE, "Connected; tokens are refreshed automatically.")
    if connection.status == ConnectionStatus.ERROR:
        return Step(
            "token",
            "Access token",
            MISSING,
            f"{connection.last_error or 'HubSpot refused the token.'} Reconnect to HubSpot.",
            anchor="top",
        )
    return Step("token", "Access token", MISSING, "Not connected. Reconnect to HubSpot.", anchor="top")


def _scopes(connection) -> Step:
    missing = [scope for scope in REQUIRED_SCOPES if scope not in (connection.scopes or [])]
    if missing:
        return Step(
            "scopes",
            "Scopes",
            MISSING,
            f"Missing {', '.join(missing)}: reconnect and approve them.",
            anchor="top",
        )
    return Step("scopes", "Scopes", DONE, "All required scopes granted.")


def _accounts(inboxes) -> Step:
    if not inboxes:
        return Step("accounts", "Channel accounts", MISSING, "Pick inboxes first.", anchor="inboxes")
    waiting = [inbox for inbox in inboxes if inbox.state != InboxState.ACTIVE or not inbox.channel_account_id]
    if waiting:
        names = ", ".join(inbox.name or str(inbox.inbox_id) for inbox in waiting)
        return Step(
            "accounts",
            "Channel accounts",
            MISSING,
            f"Not connected yet: {names}. Register the channel.",
            anchor="registration",
        )
    return Step("accounts", "Channel accounts", DONE, "Every inbox has its channel account.")


def _webhooks(connection, can_set_up: bool) -> Step:
    app = connection.app
    target = {"target_type": app._meta.label, "target_id": str(app.pk)}
    setup = AuditLogEntry.objects.filter(action="app.webhooks", **target).only(
        "outcome", "message", "created_at"
    )
    last = setup.first()
    automatic = can_set_up and bool(app.developer_api_key)
    if last is not None and last.outcome == AuditLogEntry.Outcome.SUCCESS:
        later_check = (
            AuditLogEntry.objects.filter(
                action="connection.health_check",
                target_type=connection._meta.label,
                target_id=str(connection.pk),
                created_at__gt=last.created_at,
            )
            .only("details")
            .first()
        )
        if later_check is None or "webhooks" not in (later_check.details or {}).get("failed", []):
            return Step("webhooks", "Webhooks", DONE, "Target URL and subscriptions are set up in HubSpot.")
        message = "The last health check found them missing or changed in HubSpot."
    elif last is not None:
        message = last.message
    else:
        message = "Not set up yet."
    if automatic:
        return Step(
            "webhooks", "Webhooks", MISSING, f"{message} Set them up automatically.", anchor="webhooks"
        )
    why = (
        "the app has no developer API key"
        if can_set_up
        else "this connection uses a platform app (its hosting operator sets them up)"
    )
    return Step(
        "webhooks",
        "Webhooks",
        MISSING,
        f"{message} Automatic set-up is not possible: {why}. Configure them by hand in HubSpot as shown.",
        manual=True,
        anchor="webhooks",
    )


def _first_event(connection) -> Step:
    from conversations.models import HubSpotEvent

    first = (
        HubSpotEvent.objects.filter(app_id=connection.app_id, portal_id=connection.portal_id)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None:
        return Step(
            "first_event",
            "First signed event",
            WAITING,
            "No signed event from HubSpot for this portal yet: start a test conversation and assign it "
            "in HubSpot's inbox to prove the whole path.",
        )
    return Step(
        "first_event", "First signed event", DONE, f"First signed event received {first:%Y-%m-%d %H:%M} UTC."
    )
