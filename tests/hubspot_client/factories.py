"""Factories for the HubSpot client's tests: an app with known secrets and a connected portal."""

import datetime as dt

import factory
from django.utils import timezone

from connections.models import Connection, ConnectionStatus
from tests.factories import HubSpotAppFactory, TenantFactory

APP_ID = 4242001
PORTAL_ID = 243842089
DEV_KEY = "dev-KEY-secret-4242"
CLIENT_SECRET = "cs-SECRET-4242"
ACCESS_TOKEN = "CJDx-access-current-9999"
REFRESH_TOKEN = "na1-6f1b-rt-original-0000"


class AppFactory(HubSpotAppFactory):
    app_id = APP_ID
    client_id = "c7a1f1d2-5b6e-4e7a-9c0d-1e2f3a4b5c6d"
    client_secret = CLIENT_SECRET
    developer_api_key = DEV_KEY


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    tenant = factory.SubFactory(TenantFactory)
    app = factory.SubFactory(AppFactory, tenant=factory.SelfAttribute("..tenant"))
    name = "Acme portal"
    portal_id = PORTAL_ID
    hub_domain = "acme-243842089.hs-sites.com"
    scopes = ["oauth", "conversations.read", "conversations.write"]
    access_token = ACCESS_TOKEN
    access_token_expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=30))
    refresh_token = REFRESH_TOKEN
    status = ConnectionStatus.ACTIVE
    connected_at = factory.LazyFunction(timezone.now)
