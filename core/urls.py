from django.urls import path

from core import views

app_name = "core"
urlpatterns = [
    path("worker-ping/", views.worker_ping_create, name="worker-ping"),
    path("worker-ping/<uuid:ping_id>/", views.worker_ping_detail, name="worker-ping-detail"),
]
