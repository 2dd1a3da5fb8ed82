"""The worker-ping endpoints without a worker: access control and the eager path."""

from django.urls import reverse

from core.models import WorkerPing


def test_worker_ping_needs_staff(client, db):
    assert client.post(reverse("core:worker-ping")).status_code == 302  # to the admin login
    assert not WorkerPing.objects.exists()


def test_eager_mode_answers_in_process(client, superuser, django_capture_on_commit_callbacks):
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("core:worker-ping"))
    assert response.status_code == 202
    ping = WorkerPing.objects.get(pk=response.json()["id"])
    assert ping.completed_at is not None
    assert ping.requested_by == superuser


def test_unknown_ping_is_404(client, superuser):
    client.force_login(superuser)
    url = reverse("core:worker-ping-detail", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(url).status_code == 404
