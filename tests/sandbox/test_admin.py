"""The sandbox admin is for superusers only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sandbox.models import SandboxThread


@pytest.mark.parametrize(
    "model",
    [
        "sandboxbehaviour",
        "sandboxportal",
        "sandboxapp",
        "sandboxtoken",
        "sandboxthread",
        "sandboxmessage",
        "sandboxwebhookdelivery",
        "sandboxfile",
        "sandboxcontact",
        "sandboxchannel",
    ],
)
def test_superuser_sees_every_changelist(client, superuser, portal, model):
    client.force_login(superuser)
    assert client.get(reverse(f"admin:sandbox_{model}_changelist")).status_code == 200


def test_tenant_admin_with_model_permissions_still_cannot_see_it(client, admin_a):
    from django.contrib.auth.models import Permission

    admin_a.user_permissions.add(*Permission.objects.filter(content_type__app_label="sandbox"))
    client.force_login(admin_a)
    assert client.get(reverse("admin:sandbox_sandboxthread_changelist")).status_code == 403
    assert "sandbox" not in client.get(reverse("admin:index")).text.lower()


def test_thread_change_page_lists_messages(client, superuser, portal, channel, account):
    from sandbox import domain

    identifier = {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "ada@example.com"}}
    message, _ = domain.publish_message(
        channel,
        account,
        direction="INCOMING",
        text="visible",
        senders=[identifier],
        integration_thread_id="x",
    )
    client.force_login(superuser)
    page = client.get(reverse("admin:sandbox_sandboxthread_change", args=[message.thread_id]))
    assert page.status_code == 200
    assert "visible" in page.text
    assert SandboxThread.objects.count() == 1
