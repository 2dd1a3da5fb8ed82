"""HubSpot webhook URLs, mounted at /webhooks/hubspot/ (built for HubSpot by connections.webhook_urls)."""

from django.urls import path

from conversations.webhooks.views import AppWebhookView, ChannelWebhookView

app_name = "hubspot_webhooks"

urlpatterns = [
    path("<uuid:token>/app/", AppWebhookView.as_view(), name="app"),
    path("<uuid:token>/channel/", ChannelWebhookView.as_view(), name="channel"),
]
