"""Work a web process does once at start, so that its first requests do not pay for it.

gunicorn (without preload) loads the app in each worker before the worker accepts connections,
and replaces workers at deploys, restarts and every GUNICORN_MAX_REQUESTS. Left to the first
requests, a new worker imported the URLconf with every view, ran Celery's task discovery and
Django's system checks on its first queued job, and imported the Redis client and Celery's
producer side on its first cache call and publish: 300 ms or more of a core, so on a busy machine
the first webhooks each worker answered took several hundred milliseconds (`make bench`, relay at
10/s). Only imports and in-memory set-up run here: no database, broker or cache connection is
opened, so a worker still starts while those servers are down.
"""

from __future__ import annotations


def warm_web_process() -> None:
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache
    from django.urls import get_resolver

    from core import jobs
    from hitl_portal.celery import app

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view it names)
    jobs.load_tasks()
    if any(isinstance(caches[alias], RedisCache) for alias in caches):
        import redis  # noqa: F401 (Django's Redis cache imports it on the first call)
    # What every publish uses: the message protocol and routes, the task class, the (disabled)
    # result backend and the events helper.
    app.amqp, app.Task, app.backend, app.events.Dispatcher  # noqa: B018
    with app.connection_for_write() as broker:
        broker.transport  # noqa: B018 (the transport's module and set-up; no connection is opened)
