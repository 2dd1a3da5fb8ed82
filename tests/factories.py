"""factory_boy factories for the portal's models."""

import factory
from django.contrib.auth import get_user_model

from connections.models import ConnectedInbox, Connection, ConnectionStatus, HubSpotApp, InboxState
from tenants.models import Membership, Role, Tenant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")
    is_staff = True


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN


class HubSpotAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HubSpotApp

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"App {n}")
    app_id = factory.Sequence(lambda n: 1000 + n)
    client_id = factory.Sequence(lambda n: f"client-{n}")
    client_secret = factory.Sequence(lambda n: f"client-secret-value-{n}")
    developer_api_key = factory.Sequence(lambda n: f"dev-api-key-value-{n}")


class ConnectionFactory(factory.django.DjangoModelFactory):
    """An active connection of its tenant's own app."""

    class Meta:
        model = Connection

    tenant = factory.SubFactory(TenantFactory)
    app = factory.SubFactory(HubSpotAppFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Sequence(lambda n: f"Portal {n}")
    portal_id = factory.Sequence(lambda n: 5_000_000 + n)
    status = ConnectionStatus.ACTIVE


class InboxFactory(factory.django.DjangoModelFactory):
    """A connected inbox with its channel account."""

    class Meta:
        model = ConnectedInbox

    connection = factory.SubFactory(ConnectionFactory)
    inbox_id = factory.Sequence(lambda n: 500 + n)
    name = factory.Sequence(lambda n: f"Support {n}")
    channel_account_id = factory.Sequence(lambda n: f"acct-{n}")
    state = InboxState.ACTIVE
