"""Celery beat's scheduler: django_celery_beat's DatabaseScheduler, safe to stop while it starts.

Beat installs its SIGTERM/SIGINT handler before it builds the scheduler, and that handler syncs the
scheduler, building one if there is none yet. A stop signal arriving while the first one is being
built (reading its schedule from the database) started a second build on the same database
connection, inside the interrupted query: psycopg's connection lock is held by that query, so beat
hung until SIGKILL. Blocking those signals while the scheduler is built defers the stop to just
after it, where the handler finds the database connection free.
"""

import signal

from django_celery_beat.schedulers import DatabaseScheduler as _DatabaseScheduler

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class DatabaseScheduler(_DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            super().__init__(*args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
