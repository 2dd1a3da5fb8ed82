"""WSGI entry point (gunicorn hitl_portal.wsgi)."""

from django.core.wsgi import get_wsgi_application

from hitl_portal.env import use_default_settings
from hitl_portal.warmup import warm_web_process

use_default_settings()
application = get_wsgi_application()
warm_web_process()
