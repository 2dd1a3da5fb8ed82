"""Chat page URLs, under {HUBSPOT_APP_BASE}/chat/ (sandbox only)."""

from django.urls import path

from sandbox.access import staff_only
from sandbox.demo_bot import receiver, views

app_name = "chat"
urlpatterns = staff_only(
    [
        path("", views.home, name="home"),
        path("setup/", views.set_up, name="setup"),
        path("start/", views.start, name="start"),
        path("callback/", receiver.callback, name="callback"),
        path("<uuid:chat_id>/", views.chat, name="chat"),
        path("<uuid:chat_id>/state/", views.state, name="state"),
        path("<uuid:chat_id>/send/", views.send, name="send"),
        path("<uuid:chat_id>/pull/", views.pull, name="pull"),
        path("<uuid:chat_id>/close/", views.close, name="close"),
    ],
    open_names=("callback",),
)
