"""Member invitations: invite by email with a role, resend, revoke, accept with a new password.

The link carries a random token; only its SHA-256 is stored, so a database read cannot be turned
into a working link. Resending makes a new token (the old link stops working) and a new expiry.
Accepting is once: it sets the password of the account for that email (creating it if needed),
adds the membership (which gives admin access: tenants.models.Membership.save) and closes the
invitation. Every step writes an audit entry; email goes through Django's email backend.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core import audit
from tenants.models import Invitation, Membership


class InvitationError(Exception):
    """Said to the person (the invitation is unknown, used, expired or revoked)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _hash(token)


def link(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('invitation-accept', args=[token])}"


def _expiry() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=settings.HITL_INVITATION_DAYS)


def _send(invitation: Invitation, token: str) -> None:
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "An admin"
    role = invitation.get_role_display().lower()
    send_mail(
        subject=f"You are invited to {invitation.tenant} on the HITL portal",
        message=(
            f"{inviter} invited you to join {invitation.tenant} as {role}.\n\n"
            f"Set your password and sign in here (the link works once, until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n\n{link(token)}\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now(), times_sent=invitation.times_sent + 1
    )
    invitation.times_sent += 1


def invite(tenant, email: str, role: str, *, by) -> Invitation:
    """A new pending invitation, emailed. Raises InvitationError if one is already pending."""
    email = email.strip().lower()
    token, token_hash = _new_token()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                tenant=tenant,
                email=email,
                role=role,
                token_hash=token_hash,
                invited_by=by,
                expires_at=_expiry(),
            )
    except IntegrityError:
        raise InvitationError(
            f"{email} already has a pending invitation to {tenant}: resend it instead."
        ) from None
    transaction.on_commit(lambda: _send(invitation, token))
    audit.record(
        "invitation.create",
        actor=by,
        tenant=tenant,
        target=invitation,
        message=f"Invited {email} as {invitation.get_role_display()}.",
        details={"role": role},
    )
    return invitation


def resend(invitation: Invitation, *, by) -> None:
    """A new link (the previous one stops working) and a new expiry, emailed again."""
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationError(
            f"The invitation of {invitation.email} is {invitation.state}; it is not resent."
        )
    token, token_hash = _new_token()
    invitation.token_hash, invitation.expires_at = token_hash, _expiry()
    invitation.save(update_fields=["token_hash", "expires_at"])
    transaction.on_commit(lambda: _send(invitation, token))
    audit.record(
        "invitation.resend",
        actor=by,
        tenant=invitation.tenant,
        target=invitation,
        message=f"Resent the invitation of {invitation.email}.",
    )


def revoke(invitation: Invitation, *, by) -> None:
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationError(f"The invitation of {invitation.email} is {invitation.state} already.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        "invitation.revoke",
        actor=by,
        tenant=invitation.tenant,
        target=invitation,
        message=f"Revoked the invitation of {invitation.email}.",
    )


def pending(token: str) -> Invitation:
    """The invitation the link names, if it can still be accepted; InvitationError says why not."""
    invitation = Invitation.objects.select_related("tenant").filter(token_hash=_hash(token)).first()
    if invitation is None:
        raise InvitationError("This invitation link is not valid (it may have been replaced by a newer one).")
    if invitation.state != "pending":
        raise InvitationError(
            f"This invitation was {invitation.state}. Ask an admin of {invitation.tenant} for a new one."
        )
    return invitation


def accept(token: str, password: str):
    """Set the password of the invited email's account (created if new), add the membership.
    Returns the user. Once only: a second use raises InvitationError."""
    User = get_user_model()
    with transaction.atomic():
        invitation = pending(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state != "pending":
            raise InvitationError(f"This invitation was {invitation.state}.")
        user = User.objects.filter(email__iexact=invitation.email).order_by("pk").first()
        if user is None:
            user = User(username=invitation.email, email=invitation.email, is_staff=True)
        user.set_password(password)
        user.is_active = True
        user.save()
        membership, created = Membership.objects.get_or_create(
            tenant=invitation.tenant, user=user, defaults={"role": invitation.role}
        )
        if not created and membership.role != invitation.role:
            membership.role = invitation.role
            membership.save(update_fields=["role"])
        invitation.accepted_at, invitation.accepted_by = timezone.now(), user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(
            "invitation.accept",
            actor=user,
            tenant=invitation.tenant,
            target=invitation,
            message=f"{invitation.email} joined as {invitation.get_role_display()}.",
        )
    return user
