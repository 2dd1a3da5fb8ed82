"""gunicorn settings of the web process (https://docs.gunicorn.org/en/stable/settings.html).

Read by `gunicorn hitl_portal.wsgi` from the project directory (gunicorn loads ./gunicorn.conf.py),
so the Procfile, a container and a systemd unit all get the same. Every value can be changed from
the environment without editing this file.
"""

import logging
import multiprocessing
import os
import sys
from pathlib import Path

# gunicorn reads this file before it imports the app: put the project on the path, then read the
# env file (.env or ENV_FILE) so the bind address, sizes and log format below, and the profile the
# app starts with, come from the same place as for manage.py and celery (hitl_portal/env.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from core.logging import gunicorn_logconfig
from hitl_portal.env import load_env_file, log_format

load_env_file()


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "hitl_portal.wsgi:application"
bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"

# Processes x threads. gthread: a bot API call waiting on HubSpot (contact lookup, file upload)
# holds one thread, not a whole process. WEB_CONCURRENCY is the name Heroku-style hosts set.
workers = _int("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# HubSpot waits 5 s for a webhook answer; the slowest bot API call (a start: contact search and
# thread creation, each up to HUBSPOT_READ_TIMEOUT with retries) stays under a minute. A worker
# stuck longer is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)  # above a proxy's idle keep-alive to us would be better
# Recycle workers now and then, so a slow leak in a library never grows without bound. Not too
# often: a new worker imports Django again (about a second of a core), loses its caches (the
# webhook app cache) and closes its kept-alive connections; at 2,000, `make bench` saw a worker
# replaced every few seconds during webhook bursts (docs/benchmarks.md).
max_requests = _int("GUNICORN_MAX_REQUESTS", 100_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 10_000)
# Heartbeat files in memory, not on a possibly slow or full disk (gunicorn's docs, "Blocking OS calls").
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# The proxy terminating TLS: only these addresses may set X-Forwarded-Proto/For.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs to stdout/stderr for the process manager. The access log leaves out query strings (OAuth
# codes and states pass through them) and the referrer (which can carry them too). It ends with the
# request id the app answered in X-Request-ID (core/request_id.py), the id of the app's own records
# of that request, so one search finds both.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'
# The same formatter (JSON lines with millisecond UTC times in production) and secret redaction as
# the app's own logs and Celery's (core/logging.py).
logconfig_dict = gunicorn_logconfig(log_format(), loglevel)
logging.captureWarnings(True)

# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), so a second
# gunicorn on the host would take it over from the first. Off unless given a path of its own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip() or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
