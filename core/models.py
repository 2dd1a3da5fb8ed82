"""Platform-level records that belong to no tenant."""

import uuid

from django.conf import settings
from django.db import models


class WorkerPing(models.Model):
    """A round trip through the task queue: written by a request, completed by a worker.

    Operators use it to prove that the broker and at least one worker are alive and can write to
    the database the web process reads.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="Hostname of the worker that answered.")

    class Meta:
        ordering = ("-requested_at",)

    def __str__(self) -> str:
        state = f"answered by {self.worker}" if self.completed_at else "waiting"
        return f"Worker ping {self.requested_at:%Y-%m-%d %H:%M:%S} ({state})"
