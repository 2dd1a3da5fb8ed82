"""Embedded development profile: SQLite in var/, tasks run eagerly, the HubSpot sandbox mounted."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env
from .devsecrets import load_or_create

_dev = load_or_create(VAR_DIR)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=_dev["SECRET_KEY"])
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=_dev["FIELD_ENCRYPTION_KEYS"])
# The embedded install demos against the built-in HubSpot sandbox unless told otherwise.
HUBSPOT_SANDBOX = env.bool("HUBSPOT_SANDBOX", default=True)
if HUBSPOT_SANDBOX:
    HUBSPOT_API_BASE = env.str("HUBSPOT_API_BASE", default=f"{PUBLIC_BASE_URL}/sandbox/api")
    HUBSPOT_APP_BASE = env.str("HUBSPOT_APP_BASE", default=f"{PUBLIC_BASE_URL}/sandbox/app")
HITL_ALLOW_PRIVATE_CALLBACKS = env.bool("HITL_ALLOW_PRIVATE_CALLBACKS", default=True)
