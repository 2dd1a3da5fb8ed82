from django.urls import path

from connections import views

app_name = "connections"
urlpatterns = [
    path("oauth/hubspot/callback/", views.oauth_callback, name="oauth-callback"),
]
