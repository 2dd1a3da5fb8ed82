"""Settings of a Celery worker subprocess that must call the test's live server (the sandbox).

The test profile pins HUBSPOT_API_BASE to a host that only Django's test client answers; a worker
in another process reaches the sandbox over real HTTP, at the URLs the test passes in.
"""

import os

from hitl_portal.settings.test import *  # noqa: F403

PUBLIC_BASE_URL = os.environ["PUBLIC_BASE_URL"]
HUBSPOT_API_BASE = os.environ["HUBSPOT_API_BASE"]
HUBSPOT_APP_BASE = os.environ["HUBSPOT_APP_BASE"]
