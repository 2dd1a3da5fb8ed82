"""ASGI entry point."""

from django.core.asgi import get_asgi_application

from hitl_portal.env import use_default_settings
from hitl_portal.warmup import warm_web_process

use_default_settings()
application = get_asgi_application()
warm_web_process()
