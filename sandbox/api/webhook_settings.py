"""Webhooks API: an app's target URL, throttling and event subscriptions (contract §9).

Developer API key auth with appId in the path; the key must belong to that app. This module only
stores configuration; sandbox/webhooks.py reads it when it delivers events.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sandbox.api import auth
from sandbox.api.endpoint import endpoint, json_body, no_content, ok, route
from sandbox.api.errors import ApiError, not_found, validation_error
from sandbox.api.validation import boolean, integer_id, one_of, require, string, url
from sandbox.models import SandboxSubscription, SandboxWebhookSettings
from sandbox.serializers import iso

OBJECTS = ("contact", "company", "deal", "ticket", "line_item", "product", "object")
EVENT_TYPES = tuple(
    [f"{o}.{e}" for o in OBJECTS for e in ("creation", "deletion", "merge", "restore", "propertyChange")]
    + [f"{o}.associationChange" for o in OBJECTS if o != "product"]
    + [
        "contact.privacyDeletion",
        "conversation.creation",
        "conversation.deletion",
        "conversation.newMessage",
        "conversation.privacyDeletion",
        "conversation.propertyChange",
    ]
)
EVENT_TYPES_2026 = (*EVENT_TYPES, "event.completed")
CONVERSATION_PROPERTIES = ("assignedTo", "status", "isArchived")


def _app(request, app_id: int):
    app = request.caller.app
    if app.app_id != app_id:
        raise ApiError(
            403,
            f"The developer API key provided does not have access to app {app_id}",
            "INVALID_AUTHENTICATION",
        )
    return app


def settings_json(settings: SandboxWebhookSettings) -> dict:
    return {
        "targetUrl": settings.target_url,
        "throttling": {"maxConcurrentRequests": settings.max_concurrent_requests},
        "createdAt": iso(settings.created_at),
        "updatedAt": iso(settings.updated_at),
    }


def subscription_json(sub: SandboxSubscription) -> dict:
    data = {
        "id": str(sub.pk),
        "eventType": sub.event_type,
        "active": sub.active,
        "createdAt": iso(sub.created_at),
        "updatedAt": iso(sub.updated_at),
    }
    if sub.property_name:
        data["propertyName"] = sub.property_name
    if sub.object_type_id:
        data["objectTypeId"] = sub.object_type_id
    return data


@endpoint(auth_kind=auth.HAPIKEY)
def get_settings(request, app_id: int):
    app = _app(request, app_id)
    settings = SandboxWebhookSettings.objects.filter(app=app).first()
    if settings is None:
        raise not_found(f"No webhook settings for app {app_id}", appId=app_id)
    return ok(settings_json(settings))


@endpoint(auth_kind=auth.HAPIKEY)
def put_settings(request, app_id: int):
    app = _app(request, app_id)
    data = json_body(request)
    require(data, "SettingsChangeRequest", "targetUrl", "throttling")
    target = url(data, "targetUrl")
    throttling = data["throttling"]
    if not isinstance(throttling, dict) or throttling.get("maxConcurrentRequests") is None:
        raise validation_error(
            "throttling.maxConcurrentRequests is required", field="throttling.maxConcurrentRequests"
        )
    concurrency = throttling["maxConcurrentRequests"]
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise validation_error(
            "throttling.maxConcurrentRequests must be a positive integer",
            field="throttling.maxConcurrentRequests",
        )
    settings, _ = SandboxWebhookSettings.objects.update_or_create(
        app=app, defaults={"target_url": target, "max_concurrent_requests": concurrency}
    )
    return ok(settings_json(settings))


@endpoint(auth_kind=auth.HAPIKEY)
def delete_settings(request, app_id: int):
    SandboxWebhookSettings.objects.filter(app=_app(request, app_id)).delete()
    return no_content()


@endpoint(auth_kind=auth.HAPIKEY)
def list_subscriptions(request, app_id: int):
    app = _app(request, app_id)
    return ok({"results": [subscription_json(s) for s in app.subscriptions.order_by("id")]})


@endpoint(auth_kind=auth.HAPIKEY)
def create_subscription(request, app_id: int):
    app = _app(request, app_id)
    data = json_body(request)
    require(data, "SubscriptionCreateRequest", "eventType")
    allowed = EVENT_TYPES_2026 if "/2026-03/" in request.path else EVENT_TYPES
    event_type = one_of(data["eventType"], allowed, "eventType", "EventType")
    property_name = string(data, "propertyName") or ""
    active = boolean(data, "active")
    if event_type.endswith(".propertyChange") and not property_name:
        raise validation_error(f"propertyName is required for {event_type}", field="propertyName")
    if event_type == "conversation.propertyChange" and property_name not in CONVERSATION_PROPERTIES:
        raise validation_error(
            f"propertyName must be one of {', '.join(CONVERSATION_PROPERTIES)} for {event_type}",
            field="propertyName",
        )
    duplicate = app.subscriptions.filter(event_type=event_type, property_name=property_name).exists()
    if duplicate:
        raise ApiError(
            409,
            f"A subscription for {event_type} {property_name}".rstrip() + " already exists",
            "CONFLICT",
            headers={"x-should-retry": "false"},
        )
    sub = SandboxSubscription.objects.create(
        app=app,
        event_type=event_type,
        property_name=property_name,
        object_type_id=string(data, "objectTypeId") or "",
        active=True if active is None else active,
    )
    return ok(subscription_json(sub), status=201)


def _subscription(app, subscription_id: int) -> SandboxSubscription:
    sub = app.subscriptions.filter(pk=subscription_id).first()
    if sub is None:
        raise not_found(f"Subscription {subscription_id} not found", subscriptionId=subscription_id)
    return sub


@endpoint(auth_kind=auth.HAPIKEY)
def get_subscription(request, app_id: int, subscription_id: int):
    return ok(subscription_json(_subscription(_app(request, app_id), subscription_id)))


@endpoint(auth_kind=auth.HAPIKEY)
def update_subscription(request, app_id: int, subscription_id: int):
    sub = _subscription(_app(request, app_id), subscription_id)
    active = boolean(json_body(request), "active")
    if active is not None:
        sub.active = active
        sub.save(update_fields=["active", "updated_at"])
    return ok(subscription_json(sub))


@endpoint(auth_kind=auth.HAPIKEY)
def delete_subscription(request, app_id: int, subscription_id: int):
    _subscription(_app(request, app_id), subscription_id).delete()
    return no_content()


@endpoint(auth_kind=auth.HAPIKEY)
def batch_update(request, app_id: int):
    app = _app(request, app_id)
    started = timezone.now()
    inputs = json_body(request).get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("inputs is required", field="inputs")
    wanted: dict[int, bool] = {}
    for index, item in enumerate(inputs):
        if not isinstance(item, dict) or item.get("id") is None or not isinstance(item.get("active"), bool):
            raise validation_error(f"inputs[{index}] needs id and active", field=f"inputs[{index}]")
        wanted[integer_id(item["id"], f"inputs[{index}].id")] = item["active"]
    results, errors = [], []
    with transaction.atomic():
        for sub_id, active in wanted.items():
            sub = app.subscriptions.filter(pk=sub_id).first()
            if sub is None:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"Subscription {sub_id} not found",
                        "context": {"ids": [str(sub_id)]},
                        "errors": [],
                        "links": {},
                    }
                )
                continue
            sub.active = active
            sub.save(update_fields=["active", "updated_at"])
            results.append(subscription_json(sub))
    body = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started),
        "completedAt": iso(timezone.now()),
    }
    if errors:
        return ok(body | {"numErrors": len(errors), "errors": errors}, status=207)
    return ok(body)


settings_view = route(GET=get_settings, PUT=put_settings, DELETE=delete_settings)
subscriptions = route(GET=list_subscriptions, POST=create_subscription)
subscription_item = route(GET=get_subscription, PATCH=update_subscription, DELETE=delete_subscription)
batch = route(POST=batch_update)
