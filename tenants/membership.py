"""Removing a member: the one place that takes a person out of an organisation.

Staff status is what lets a person into the admin at all; members get it when they join
(Membership.save). A person removed from their last organisation must lose it too, or they keep
a session and an admin login with nothing to scope them to. Superusers keep theirs: they are not
members of anything to begin with.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from tenants.models import Membership


def remove_member(tenant, user) -> bool:
    """Take `user` out of `tenant`; returns whether there was a membership to remove."""
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(tenant=tenant, user=user).delete()
        # The post_delete receiver below revokes staff access when this was the last one.
    return bool(deleted)


def revoke_staff_if_no_organisation(user_id: int) -> bool:
    """Drop staff status of a non-superuser who belongs to no organisation. The admin and the
    sandbox check is_staff on every request, so an open session loses access at once."""
    user_model = get_user_model()
    if Membership.objects.filter(user_id=user_id).exists():
        return False
    changed = user_model.objects.filter(pk=user_id, is_staff=True, is_superuser=False).update(is_staff=False)
    return bool(changed)


@receiver(post_delete, sender=Membership, dispatch_uid="tenants.revoke_staff_on_last_membership")
def _membership_deleted(sender, instance: Membership, **kwargs) -> None:
    # Also covers deletes made in the admin (inline rows, the delete page, bulk actions) and
    # cascades; runs in the deleting transaction, so it sees every row deleted so far.
    revoke_staff_if_no_organisation(instance.user_id)
