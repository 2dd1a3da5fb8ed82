"""Console fixtures: tenant A with two inboxes (two connections), tenant B with one."""

import pytest

from tests.factories import ConnectionFactory, InboxFactory


@pytest.fixture
def inbox_a(tenant_a):
    return InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme EU"), name="Support")


@pytest.fixture
def inbox_a2(tenant_a):
    return InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme US"), name="Sales")


@pytest.fixture
def inbox_b(tenant_b):
    return InboxFactory(connection=ConnectionFactory(tenant=tenant_b, name="Globex"), name="Helpdesk")


LIST_URL = "/admin/conversations/escalation/"
LIVE_URL = "/admin/conversations/escalation/live/"
EXPORT_URL = "/admin/conversations/escalation/export.csv"
