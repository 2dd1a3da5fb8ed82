"""HubSpot API paths served by the sandbox (mounted at HUBSPOT_API_BASE).

Where HubSpot publishes a date-versioned path beside the legacy one, both map to the same view.
Ids that HubSpot keeps numeric are `<int:...>`, so a malformed id is a plain 404.
"""

from django.urls import path

from sandbox.api import channel_accounts, channels, contacts, files, inbox, messages, oauth, webhook_settings

app_name = "api"

CUSTOM_CHANNELS = ("conversations/v3/custom-channels", "conversations/custom-channels/2026-03")
CONTACTS = ("crm/v3/objects/contacts", "crm/objects/2026-03/contacts")
FILES = ("files/v3/files", "files/2026-03/files")
WEBHOOKS = ("webhooks/v3", "webhooks/2026-03")
INBOX = "conversations/v3/conversations"

urlpatterns = [
    # OAuth
    path("oauth/v1/token", oauth.token_view, name="oauth-token"),
    path("oauth/2026-03/token", oauth.token_view),
    path("oauth/2026-03/token/introspect", oauth.introspect_view, name="oauth-introspect"),
    path("oauth/2026-03/token/revoke", oauth.revoke_view, name="oauth-revoke"),
    path("oauth/v1/access-tokens/<str:token_value>", oauth.access_token_view, name="oauth-access-token"),
    path("oauth/v1/refresh-tokens/<str:token_value>", oauth.refresh_token_view, name="oauth-refresh-token"),
    # Conversations inbox
    path(f"{INBOX}/inboxes", inbox.inboxes, name="inboxes"),
    path(f"{INBOX}/inboxes/<int:inbox_id>", inbox.inbox_item),
    path(f"{INBOX}/channels", inbox.channels, name="inbox-channels"),
    path(f"{INBOX}/channels/<int:channel_id>", inbox.channel_item),
    path(f"{INBOX}/channel-accounts", channel_accounts.inbox_collection, name="inbox-channel-accounts"),
    path(f"{INBOX}/channel-accounts/<int:account_id>", channel_accounts.inbox_item),
    path(f"{INBOX}/threads", inbox.threads, name="threads"),
    path(f"{INBOX}/threads/<int:thread_id>", inbox.thread_item, name="thread"),
    path(f"{INBOX}/threads/<int:thread_id>/messages", inbox.thread_messages, name="thread-messages"),
    path(f"{INBOX}/threads/<int:thread_id>/messages/<str:message_id>", inbox.thread_message_item),
    path(f"{INBOX}/actors/batch/read", inbox.actors_batch, name="actors-batch"),
    path(f"{INBOX}/actors/<str:actor_id>", inbox.actor_item, name="actor"),
    # Files: the bytes a file's `url` points at
    path("_files/<int:file_id>/<str:token>/<str:name>", files.download_view, name="file-download"),
]

for base in CUSTOM_CHANNELS:
    urlpatterns += [
        path(base, channels.collection),
        path(f"{base}/<int:channel_id>", channels.item),
        path(f"{base}/<int:channel_id>/channel-accounts", channel_accounts.collection),
        path(f"{base}/<int:channel_id>/channel-accounts/<int:account_id>", channel_accounts.item),
        path(f"{base}/<int:channel_id>/messages", messages.collection),
        path(f"{base}/<int:channel_id>/messages/<str:message_id>", messages.item),
    ]

for base in CONTACTS:
    urlpatterns += [
        path(base, contacts.collection),
        path(f"{base}/search", contacts.search_view),
        path(f"{base}/<str:contact_id>", contacts.item),
    ]

for base in FILES:
    urlpatterns += [
        path(base, files.collection),
        path(f"{base}/<int:file_id>", files.item),
        path(f"{base}/<int:file_id>/signed-url", files.signed),
    ]

for base in WEBHOOKS:
    urlpatterns += [
        path(f"{base}/<int:app_id>/settings", webhook_settings.settings_view),
        path(f"{base}/<int:app_id>/subscriptions", webhook_settings.subscriptions),
        path(f"{base}/<int:app_id>/subscriptions/batch/update", webhook_settings.batch),
        path(f"{base}/<int:app_id>/subscriptions/<int:subscription_id>", webhook_settings.subscription_item),
    ]
