"""Console URLs, under {HUBSPOT_APP_BASE}/console/."""

from django.urls import path

from sandbox.access import staff_only
from sandbox.console import views

app_name = "console"
urlpatterns = staff_only(
    [
        path("", views.home, name="home"),
        path("behaviour/", views.behaviour, name="behaviour"),
        path("deliveries/", views.deliveries, name="deliveries"),
        path("deliveries/send-due/", views.deliveries_send_due, name="deliveries-send-due"),
        path("deliveries/<int:delivery_id>/retry/", views.delivery_retry, name="delivery-retry"),
        path("files/<int:file_id>/<str:token>/", views.file_download, name="file"),
        path("<int:portal_id>/", views.inbox, name="inbox"),
        path("<int:portal_id>/act-as/", views.act_as, name="act-as"),
        path("<int:portal_id>/agents/", views.agent_create, name="agent-create"),
        path("<int:portal_id>/threads/<int:thread_id>/", views.thread, name="thread"),
        path("<int:portal_id>/threads/<int:thread_id>/assign/", views.thread_assign, name="thread-assign"),
        path("<int:portal_id>/threads/<int:thread_id>/reply/", views.thread_reply, name="thread-reply"),
        path("<int:portal_id>/threads/<int:thread_id>/close/", views.thread_close, name="thread-close"),
        path("<int:portal_id>/threads/<int:thread_id>/reopen/", views.thread_reopen, name="thread-reopen"),
    ],
    open_names=("file",),
)
