"""Invitations: tenancy in the admin, one pending per email, hashed tokens, once-only acceptance."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from core.models import AuditLogEntry
from tenants import invitations
from tenants.models import Invitation, Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)
LIST = "/admin/tenants/invitation/"


def test_only_the_organisations_admins_see_and_act(client, admin_a, admin_b, lead_a, tenant_a):
    invitation = invitations.invite(tenant_a, "new@example.com", Role.SUPPORT_LEAD, by=admin_a)
    client.force_login(admin_b)
    assert "new@example.com" not in client.get(LIST).text
    assert client.get(f"{LIST}{invitation.pk}/change/").status_code == 404
    client.post(LIST, {"action": "revoke_invitations", "_selected_action": [invitation.pk]})
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    client.force_login(lead_a)
    assert client.get(LIST).status_code == 403
    client.force_login(admin_a)
    assert "new@example.com" in client.get(LIST).text


def act(client, action: str, invitation):
    return client.post(LIST, {"action": action, "_selected_action": [invitation.pk]}, follow=True)


def test_bulk_actions_touch_only_invitations_of_organisations_the_user_administers(
    client, admin_a, admin_b, lead_a, tenant_a, tenant_b
):
    # Given an invitation of tenant A, and Lena, support lead of A who is also admin of B
    invitation = invitations.invite(tenant_a, "new@example.com", Role.SUPPORT_LEAD, by=admin_a)
    MembershipFactory(tenant=tenant_b, user=lead_a, role=Role.ADMIN)
    sent, audited = len(mail.outbox), AuditLogEntry.objects.count()
    # When another organisation's admin, or Lena, posts resend and revoke for it
    for user in (admin_b, lead_a):
        client.force_login(user)
        for action in ("resend_invitations", "revoke_invitations"):
            act(client, action, invitation)
    # Then nothing happened to it: no mail, no audit entry, still pending
    invitation.refresh_from_db()
    assert invitation.state == "pending" and invitation.times_sent == 1
    assert len(mail.outbox) == sent and AuditLogEntry.objects.count() == audited


def test_a_support_lead_is_refused_the_actions(client, admin_a, lead_a, tenant_a):
    invitation = invitations.invite(tenant_a, "new@example.com", Role.SUPPORT_LEAD, by=admin_a)
    client.force_login(lead_a)
    for action in ("resend_invitations", "revoke_invitations"):
        assert client.post(LIST, {"action": action, "_selected_action": [invitation.pk]}).status_code == 403
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert not AuditLogEntry.objects.filter(action__in=("invitation.resend", "invitation.revoke")).exists()


def test_the_organisations_admin_resends_and_revokes_with_an_audit_entry_each(client, admin_a, tenant_a):
    invitation = invitations.invite(tenant_a, "new@example.com", Role.SUPPORT_LEAD, by=admin_a)
    client.force_login(admin_a)

    resent = act(client, "resend_invitations", invitation)
    revoked = act(client, "revoke_invitations", invitation)
    again = act(client, "revoke_invitations", invitation)

    assert "Resent the invitation of new@example.com." in resent.text
    assert "Revoked the invitation of new@example.com." in revoked.text
    assert "is revoked already" in again.text
    invitation.refresh_from_db()
    assert invitation.state == "revoked" and invitation.times_sent == 2 and len(mail.outbox) == 2
    entries = AuditLogEntry.objects.filter(action__in=("invitation.resend", "invitation.revoke"))
    assert sorted(e.action for e in entries) == ["invitation.resend", "invitation.revoke"]
    assert {(e.actor, e.tenant, e.target_id) for e in entries} == {(admin_a, tenant_a, str(invitation.pk))}


def test_an_admin_cannot_invite_into_another_organisation(client, admin_a, tenant_b):
    client.force_login(admin_a)
    response = client.post(f"{LIST}add/", {"tenant": tenant_b.pk, "email": "x@example.com", "role": "admin"})
    assert response.status_code == 200 and "Select a valid choice" in response.text
    assert not Invitation.objects.exists() and not mail.outbox


def test_one_pending_invitation_per_email_and_tokens_are_hashed(client, admin_a, tenant_a):
    client.force_login(admin_a)
    data = {"tenant": tenant_a.pk, "email": "dup@example.com", "role": "support_lead"}
    assert client.post(f"{LIST}add/", data).status_code == 302
    again = client.post(f"{LIST}add/", data)
    assert again.status_code == 200 and "already has a pending invitation" in again.text
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1
    token = re.search(r"/invitations/([\w-]+)/", mail.outbox[0].body).group(1)
    assert token not in Invitation.objects.get().token_hash


def test_accepting_is_once_and_refused_after_expiry(admin_a, tenant_a):
    from django.utils import timezone

    invitations.invite(tenant_a, "once@example.com", Role.ADMIN, by=admin_a)
    token = re.search(r"/invitations/([\w-]+)/", mail.outbox[0].body).group(1)
    user = invitations.accept(token, "a-Long-enough-passphrase-42")
    assert user.check_password("a-Long-enough-passphrase-42") and user.is_staff
    with pytest.raises(invitations.InvitationError, match="accepted"):
        invitations.accept(token, "another-Long-passphrase-43")

    invitations.invite(tenant_a, "late@example.com", Role.ADMIN, by=admin_a)
    late = re.search(r"/invitations/([\w-]+)/", mail.outbox[1].body).group(1)
    Invitation.objects.filter(email="late@example.com").update(expires_at=timezone.now())
    with pytest.raises(invitations.InvitationError, match="expired"):
        invitations.accept(late, "a-Long-enough-passphrase-42")
