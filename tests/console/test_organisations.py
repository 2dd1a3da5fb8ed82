"""People in several organisations see an organisation column and a switcher on the escalation
list; people in one see neither (the column would be constant)."""

import pytest

from tenants.models import Role
from tests.factories import MembershipFactory, escalation

pytestmark = pytest.mark.django_db


def test_multi_organisation_people_get_a_column_and_a_switcher(client, lead_a, tenant_b, inbox_a, inbox_b):
    escalation(inbox_a, title="ACME-ROW")
    escalation(inbox_b, title="GLOBEX-ROW")
    client.force_login(lead_a)
    single = client.get("/admin/conversations/escalation/").text
    assert "column-tenant_col" not in single and "?organisation=" not in single
    assert "GLOBEX-ROW" not in single

    MembershipFactory(tenant=tenant_b, user=lead_a, role=Role.SUPPORT_LEAD)
    page = client.get("/admin/conversations/escalation/").text
    assert "column-tenant_col" in page and "ACME-ROW" in page and "GLOBEX-ROW" in page
    assert f"?organisation={tenant_b.pk}" in page
    switched = client.get(f"/admin/conversations/escalation/?organisation={tenant_b.pk}").text
    assert "GLOBEX-ROW" in switched and "ACME-ROW" not in switched


def test_the_switcher_cannot_reach_another_organisation(client, lead_a, tenant_b, inbox_b):
    escalation(inbox_b, title="GLOBEX-ROW")
    client.force_login(lead_a)
    page = client.get(f"/admin/conversations/escalation/?organisation={tenant_b.pk}").text
    assert "GLOBEX-ROW" not in page
