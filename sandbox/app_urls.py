"""app.hubspot.com pages served by the sandbox (mounted at HUBSPOT_APP_BASE): consent, agent console."""

urlpatterns: list = []
