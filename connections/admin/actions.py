"""What the buttons on a connection's admin page do: one handler per action, declared in
CONNECTION_ACTIONS (core/admin_actions.py: POST only with CSRF, the connection looked up in the
user's tenants, permission, POST/redirect/GET).

By the time a handler runs the user may change the connection and the request is a POST with a
valid CSRF token. A handler returns a redirect (to the health report, to the page that shows a new
secret once) or None to go back to its panel. The services write the audit entries.

A new secret crosses that redirect in the session, encrypted with the portal's keys and popped by
the first GET that shows it: a reload or Back then says it was shown once, it never re-issues.
"""

import json
import secrets

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from connections import consent, health, registration, services, webhook_setup
from connections import inboxes as inbox_service
from connections.models import Connection
from core import crypto
from core.admin_actions import ObjectActions

CONNECTION_ACTIONS = ObjectActions(
    "connections_connection", refusal="You may look at this connection, not change it."
)
action = CONNECTION_ACTIONS.register


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404(f"No such {what}.") from None


@action("add-inboxes", "Add inboxes", anchor="inboxes")
def add_inboxes(modeladmin, request, connection: Connection):
    wanted = [_int(value, "inbox") for value in request.POST.getlist("inbox_id")]
    reference = request.POST.get("reference", "").strip()
    if reference:
        try:
            wanted.append(inbox_service.parse_inbox_reference(reference, portal_id=connection.portal_id))
        except ValueError as exc:
            messages.error(request, str(exc))
            return None
    if not wanted:
        messages.warning(request, "Tick an inbox, or paste an inbox ID or HubSpot inbox settings URL.")
        return None
    for inbox_id in dict.fromkeys(wanted):
        try:
            # The service names the inbox from HubSpot's list, which also proves it exists.
            inbox = inbox_service.add_inbox(connection, inbox_id, actor=request.user)
        except ValueError as exc:  # HubSpot says the portal has no such inbox
            messages.error(request, f"Inbox {inbox_id} was not added: {exc}")
        else:
            messages.success(request, f"Added inbox {inbox}.")
    return None


@action("remove-inbox", "Remove inbox", anchor="inboxes")
def remove_inbox(modeladmin, request, connection: Connection):
    inbox_id = _int(request.POST.get("inbox_id"), "inbox")
    inbox = inbox_service.remove_inbox(connection, inbox_id, actor=request.user)
    if inbox is None:
        messages.warning(request, f"Inbox {inbox_id} is not used by this connection.")
    elif inbox.last_error:
        messages.warning(request, f"Removed inbox {inbox}. {inbox.last_error}")
    else:
        messages.success(request, f"Removed inbox {inbox}.")
    return None


@action("register", "Register channel", anchor="registration")
def register(modeladmin, request, connection: Connection):
    result = registration.request_registration(connection, actor=request.user)
    # Re-read: without a broker (`make run`) the task has already run by now.
    result.refresh_from_db()
    messages.info(request, f"Channel registration requested. Now: {result.get_state_display()}.")
    _webhooks_in_the_flow(modeladmin, request, connection)
    return None


def _webhooks_in_the_flow(modeladmin, request, connection: Connection) -> None:
    """Registering is the step after which events are expected: set the app's webhooks up too,
    where we may (the app is the user's and has a developer API key). Otherwise the readiness
    checklist shows the step as missing, with the manual steps."""
    app = connection.app
    if not app.developer_api_key or not modeladmin.can_change_app(request, app):
        return
    result = webhook_setup.ensure_app_webhooks(app, actor=request.user)
    if result["ok"]:
        messages.success(request, "Webhooks are set up in HubSpot.")
    else:
        messages.error(request, f"{result['error']} The manual steps are shown in the Webhooks panel.")


@action("unregister", "Unregister", anchor="registration")
def unregister(modeladmin, request, connection: Connection):
    result = registration.request_unregistration(connection, actor=request.user)
    result.refresh_from_db()
    messages.info(request, f"Channel unregistration requested. Now: {result.get_state_display()}.")
    return None


@action(
    "setup-webhooks",
    "Set up webhooks automatically",
    anchor="webhooks",
    # Webhooks belong to the app, which a platform app's tenants may use but not reconfigure.
    allowed=lambda modeladmin, request, connection: modeladmin.can_change_app(request, connection.app),
    refusal="Only the app's owner can set up its webhooks.",
)
def setup_webhooks(modeladmin, request, connection: Connection):
    result = webhook_setup.ensure_app_webhooks(connection.app, actor=request.user)
    if not result["ok"]:
        messages.error(request, f"{result['error']} The manual steps are shown in the Webhooks panel.")
        return None
    changes = [f"target URL set to {result['target_url']}"] if result["target_url_changed"] else []
    changes += [f"created {label}" for label in result["created"]]
    changes += [f"re-activated {label}" for label in result["reactivated"]]
    summary = "; ".join(changes) if changes else "they were already in place, nothing changed"
    messages.success(request, f"Webhooks are set up in HubSpot: {summary}.")
    return None


HEALTH_SESSION_KEY = "hitl_health_report:{}"
SECRET_SESSION_KEY = "hitl_secret_once:{}"


@action("check-health", "Check health", anchor="health")
def check_health(modeladmin, request, connection: Connection):
    report = health.check_health(connection, actor=request.user)
    # The page reads the report back after the redirect (a reload re-reads it, never re-checks).
    request.session[HEALTH_SESSION_KEY.format(connection.pk)] = json.loads(
        json.dumps(report, cls=DjangoJSONEncoder)
    )
    return redirect(reverse("admin:connections_connection_health", args=[connection.pk]))


@action("reconnect", "Reconnect to HubSpot", anchor="top")
def reconnect(modeladmin, request, connection: Connection):
    # On to HubSpot's consent page; its callback updates this connection and writes the audit entry.
    try:
        url = consent.start(request, tenant=connection.tenant, app=connection.app, connection=connection)
    except consent.ConsentError as exc:
        messages.error(request, str(exc))
        return None
    return redirect(url)


@action("disconnect", "Yes, disconnect", anchor="top", confirm="Disconnect this portal?")
def disconnect(modeladmin, request, connection: Connection):
    result = services.disconnect(connection, actor=request.user)
    if result["error"]:
        messages.warning(
            request,
            f"Disconnected {connection} and wiped its tokens, but HubSpot did not confirm revoking "
            f"the refresh token: {result['error']}",
        )
    else:
        messages.success(request, f"Disconnected {connection}: its tokens were revoked and wiped.")
    return None


@action("issue-key", "Issue a bot API key", anchor="access")
def issue_key(modeladmin, request, connection: Connection):
    name = request.POST.get("name", "").strip()[:100] or "Bot"
    key, plaintext = services.issue_bot_key(connection, actor=request.user, name=name)
    return _show_once(
        modeladmin,
        request,
        connection,
        title=f"Bot API key “{key.name}”",
        secret=plaintext,
        how="The bot sends it in the Authorization header: Bearer <key>.",
    )


@action("revoke-key", "Revoke", anchor="access")
def revoke_key(modeladmin, request, connection: Connection):
    key = connection.api_keys.filter(pk=_int(request.POST.get("key_id"), "key")).first()
    if key is None:
        raise Http404("No such key on this connection.")
    if key.is_active:
        services.revoke_bot_key(key, actor=request.user)
    messages.success(request, f"Revoked {key}. Bots using it are refused from now on.")
    return None


@action("rotate-secret", "Rotate the callback secret", anchor="access")
def rotate_secret(modeladmin, request, connection: Connection):
    _secret, plaintext = services.rotate_callback_secret(connection, actor=request.user)
    return _show_once(
        modeladmin,
        request,
        connection,
        title="New callback signing secret",
        secret=plaintext,
        how="The bot verifies our callbacks' signatures with it. The previous secret stays valid "
        "until the next rotation, so the bot can switch over without missing a callback.",
    )


def _show_once(modeladmin, request, connection, *, title, secret, how):
    """Redirect to the only page the plaintext secret ever appears on (`secret_page`)."""
    token = secrets.token_urlsafe(12)
    request.session[SECRET_SESSION_KEY.format(token)] = {
        "connection": connection.pk,
        "title": title,
        "secret": crypto.encrypt(secret),
        "how": how,
    }
    return redirect(reverse("admin:connections_connection_secret", args=[connection.pk, token]))


def secret_page(modeladmin, request, connection: Connection, token: str):
    """Shows the secret once and forgets it; later visits say so (never cached either way)."""
    stashed = request.session.pop(SECRET_SESSION_KEY.format(token), None)
    if stashed is None or stashed.get("connection") != connection.pk:
        response = modeladmin.render_page(
            request, connection, "secret_once.html", title="Secret already shown", secret=None, gone=True
        )
    else:
        response = modeladmin.render_page(
            request,
            connection,
            "secret_once.html",
            title=stashed["title"],
            secret=crypto.decrypt(stashed["secret"]),
            how=stashed["how"],
        )
    add_never_cache_headers(response)
    return response


def health_page(modeladmin, request, connection: Connection):
    report = request.session.get(HEALTH_SESSION_KEY.format(connection.pk))
    return modeladmin.render_page(
        request,
        connection,
        "health.html",
        title=f"Health of {connection}",
        report=report,
        problems=[check for check in report["checks"] if check["ok"] is False] if report else [],
    )
