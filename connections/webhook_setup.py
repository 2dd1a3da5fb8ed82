"""The app's webhook target URL and conversation subscriptions, set up through HubSpot's API.

The old integration left these to be clicked together in HubSpot by hand. With the app's developer
API key, `ensure_app_webhooks` makes HubSpot's configuration match `expected_config`: idempotent
(run it on every save), additive (subscriptions that are not ours are left alone) and never
duplicating. Where HubSpot refuses (no key, wrong key), the result carries the
reason and the manual steps for the admin to copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from connections.hubspot import (
    HubSpotAuthError,
    HubSpotDeveloperClient,
    HubSpotError,
    HubSpotNotFound,
    HubSpotValidationError,
)
from connections.webhook_urls import app_webhook_url
from core import audit
from core.models import AuditLogEntry

MAX_CONCURRENT_REQUESTS = 10


@dataclass(frozen=True)
class Subscription:
    event_type: str
    property_name: str = ""

    @property
    def label(self) -> str:
        return f"{self.event_type} ({self.property_name})" if self.property_name else self.event_type

    def as_dict(self) -> dict:
        return {"event_type": self.event_type, "property_name": self.property_name, "label": self.label}


#: What the handoff needs to hear about: a thread appears, an agent writes, it is assigned or
#: closed, or it is deleted (so an escalation does not wait for a thread that no longer exists).
REQUIRED_SUBSCRIPTIONS = (
    Subscription("conversation.creation"),
    Subscription("conversation.newMessage"),
    Subscription("conversation.propertyChange", "assignedTo"),
    Subscription("conversation.propertyChange", "status"),
    Subscription("conversation.deletion"),
)


def expected_config(app) -> dict:
    """What HubSpot should hold for this app, with the steps to set it up by hand."""
    target = app_webhook_url(app)
    subscriptions = [s.as_dict() for s in REQUIRED_SUBSCRIPTIONS]
    return {
        "app_id": app.app_id,
        "target_url": target,
        "max_concurrent_requests": MAX_CONCURRENT_REQUESTS,
        "subscriptions": subscriptions,
        "manual_steps": [
            f"In your HubSpot developer account, open app {app.app_id} and go to Webhooks.",
            f"Set the target URL to {target} (event throttling: {MAX_CONCURRENT_REQUESTS}).",
            "Create these subscriptions and make sure each is active: "
            + ", ".join(s["label"] for s in subscriptions)
            + ".",
        ],
    }


def _key(sub: dict) -> tuple[str, str]:
    return (str(sub.get("eventType", "")), str(sub.get("propertyName") or ""))


def ensure_app_webhooks(app, *, actor=None) -> dict:
    """Make HubSpot's webhook settings and subscriptions of `app` match `expected_config`.

    Never raises on HubSpot errors. Returns
    `{"ok", "target_url", "target_url_changed", "previous_target_url", "subscriptions": [{...,
    "id", "active", "status": existing|created|reactivated}], "created", "reactivated", "other",
    "error", "manual"}` where `manual` (the expected config with steps) is set when not ok.
    """
    result: dict = {
        "ok": False,
        "target_url": app_webhook_url(app),
        "target_url_changed": False,
        "previous_target_url": None,
        "subscriptions": [],
        "created": [],
        "reactivated": [],
        "other": [],
        "error": None,
        "manual": None,
    }
    try:
        _ensure(HubSpotDeveloperClient.for_app(app), result)
        result["ok"] = True
    except HubSpotError as exc:
        result["error"] = _reason(app, exc)
        result["retryable"] = exc.retryable
        result["manual"] = expected_config(app)
    changes = [f"target URL set to {result['target_url']}"] if result["target_url_changed"] else []
    changes += [f"created {label}" for label in result["created"]]
    changes += [f"re-activated {label}" for label in result["reactivated"]]
    audit.record(
        "app.webhooks",
        actor=actor,
        tenant=app.tenant,
        target=app,
        outcome=AuditLogEntry.Outcome.SUCCESS if result["ok"] else AuditLogEntry.Outcome.FAILURE,
        message=result["error"] or ("; ".join(changes) or "Already configured; nothing changed."),
        details={k: result[k] for k in ("target_url_changed", "created", "reactivated")},
    )
    return result


def _reason(app, exc: HubSpotError) -> str:
    if isinstance(exc, HubSpotAuthError):
        return (
            f"HubSpot refused to let us configure webhooks of app {app.app_id} ({exc}). Check the "
            "app's developer API key, or set the webhooks up by hand as shown."
        )
    return f"HubSpot could not be configured ({exc}). Try again, or set the webhooks up by hand as shown."


def _ensure(dev: HubSpotDeveloperClient, result: dict) -> None:
    target = result["target_url"]
    try:
        current = dev.get_webhook_settings()
    except HubSpotNotFound:
        current = None
    if current is None or current.get("targetUrl") != target:
        concurrency = ((current or {}).get("throttling") or {}).get("maxConcurrentRequests")
        dev.update_webhook_settings(target, max_concurrent_requests=concurrency or MAX_CONCURRENT_REQUESTS)
        result["previous_target_url"] = (current or {}).get("targetUrl")
        result["target_url_changed"] = True

    existing = {}
    for sub in dev.list_subscriptions():
        # Prefer an active one if HubSpot somehow holds two for the same event.
        if _key(sub) not in existing or sub.get("active"):
            existing[_key(sub)] = sub
    wanted = {(s.event_type, s.property_name): s for s in REQUIRED_SUBSCRIPTIONS}
    for key, spec in wanted.items():
        sub = existing.get(key)
        status = "existing"
        if sub is None:
            try:
                sub = dev.create_subscription(
                    spec.event_type, active=True, property_name=spec.property_name or None
                )
                status = "created"
                result["created"].append(spec.label)
            except HubSpotValidationError as exc:
                # 409: created meanwhile by a concurrent run; use that one.
                if exc.status != 409:
                    raise
                sub = {_key(s): s for s in dev.list_subscriptions()}.get(key)
                if sub is None:
                    raise
        if not sub.get("active"):
            sub = dev.update_subscription(sub["id"], active=True)
            if status == "existing":
                status = "reactivated"
                result["reactivated"].append(spec.label)
        result["subscriptions"].append(
            {**spec.as_dict(), "id": str(sub["id"]), "active": bool(sub.get("active")), "status": status}
        )
    result["other"] = [
        {"event_type": k[0], "property_name": k[1], "id": str(s["id"]), "active": bool(s.get("active"))}
        for k, s in existing.items()
        if k not in wanted
    ]
