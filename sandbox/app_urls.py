"""app.hubspot.com pages served by the sandbox (mounted at HUBSPOT_APP_BASE): consent, agent console.

Like the rest of /sandbox/, these exist only when HUBSPOT_SANDBOX is on (hitl_portal/urls.py).
"""

from django.urls import include, path

from sandbox import consent

app_name = "app"
urlpatterns = [
    path("oauth/authorize", consent.authorize, name="oauth-authorize"),
    path("console/", include("sandbox.console.urls")),
    path("chat/", include("sandbox.demo_bot.urls")),
]
