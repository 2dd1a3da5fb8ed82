"""Sandbox URL map. /sandbox/api/ mirrors api.hubapi.com, /sandbox/app/ mirrors app.hubspot.com."""

from django.urls import include, path

app_name = "sandbox"
urlpatterns = [
    path("api/", include("sandbox.api.urls")),
    path("app/", include("sandbox.app_urls")),
]
