"""The app's webhook settings and event subscriptions (developer API key; appId in the path, §9).

HubSpot posts the subscribed events to `targetUrl` as a JSON array; receiving and verifying them is
the webhooks app's business, not the client's.
"""

from __future__ import annotations

from typing import Any


class WebhooksAPI:
    app_id: int

    def get_webhook_settings(self) -> dict[str, Any]:
        return self._call("webhooks.settings.get", path_params={"appId": self.app_id})

    def update_webhook_settings(
        self, target_url: str, *, max_concurrent_requests: int = 10
    ) -> dict[str, Any]:
        body = {
            "targetUrl": target_url,
            "throttling": {"maxConcurrentRequests": int(max_concurrent_requests)},
        }
        return self._call("webhooks.settings.update", path_params={"appId": self.app_id}, json=body)

    def list_subscriptions(self) -> list[dict[str, Any]]:
        """All subscriptions: HubSpot answers `{results: [...]}` without paging (contract §9.1)."""
        body = self._call("webhooks.subscriptions.list", path_params={"appId": self.app_id})
        return list((body or {}).get("results") or [])

    def create_subscription(
        self,
        event_type: str,
        *,
        active: bool = True,
        property_name: str | None = None,
        object_type_id: str | None = None,
    ) -> dict[str, Any]:
        """`conversation.propertyChange` needs a `property_name` (assignedTo, status, isArchived)."""
        body: dict[str, Any] = {"eventType": event_type, "active": active}
        if property_name:
            body["propertyName"] = property_name
        if object_type_id:
            body["objectTypeId"] = object_type_id
        return self._call("webhooks.subscriptions.create", path_params={"appId": self.app_id}, json=body)

    def update_subscription(self, subscription_id: int | str, *, active: bool) -> dict[str, Any]:
        return self._call(
            "webhooks.subscriptions.update",
            path_params={"appId": self.app_id, "subscriptionId": subscription_id},
            json={"active": active},
        )

    def delete_subscription(self, subscription_id: int | str) -> None:
        self._call(
            "webhooks.subscriptions.delete",
            path_params={"appId": self.app_id, "subscriptionId": subscription_id},
        )
