"""When a Celery task that called HubSpot runs again: the wait HubSpot asked for, else backoff."""

from __future__ import annotations

MAX_COUNTDOWN_SECONDS = 15 * 60  # below the Redis visibility timeout (1 h)


def task_countdown(retries: int, exc: Exception) -> float:
    """HubSpot's Retry-After when it gave one (the client hands such waits to the task rather than
    sleeping in the worker: Transport.for_task), else exponential backoff from 1 s, where the
    client's own backoff (0.5 s doubling, slept in the worker no longer) would have gone on."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        return min(max(retry_after, 1.0), MAX_COUNTDOWN_SECONDS)
    return min(2**retries, MAX_COUNTDOWN_SECONDS)
