"""Writes while composing: editing a draft, and the senders the HQ admin validates."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope
from campagne.mailing import approval
from campagne.mailing.actions import require_send
from campagne.mailing.models import Mailing, Sender


@transaction.atomic
def update_mailing(
    *, scope: Scope, mailing: Mailing, segments: Any, excluded_segments: Any = (), **fields: Any
) -> Mailing:
    """Edit a draft or a scheduled mailing. A scheduled one goes back to draft (its
    pending start task then finds it changed and does nothing); an approval is withdrawn."""
    require_send(scope)
    # Claim the edit with a conditional UPDATE: a scheduled start racing this edit either
    # has already moved the mailing to "sending" (the edit is refused) or will find it
    # back in draft.
    claimed = Mailing.objects.filter(
        pk=mailing.pk, status__in=[Mailing.Status.DRAFT, Mailing.Status.SCHEDULED]
    ).update(status=Mailing.Status.DRAFT, scheduled_at=None)
    if not claimed:
        raise ValidationError(_("Cet envoi a déjà commencé : il ne peut plus être modifié."))
    mailing.refresh_from_db()
    for name, value in fields.items():
        setattr(mailing, name, value)
    mailing.save(update_fields=list(fields))
    mailing.segments.set(segments)
    mailing.excluded_segments.set(excluded_segments)
    approval.withdraw_after_edit(mailing)
    return mailing


def create_sender(*, scope: Scope, name: str, address: str, reply_to: str = "") -> Sender:
    """A new From identity, not yet usable by organizers until an HQ admin validates it."""
    approval.require_admin(scope)
    return Sender.objects.create(name=name, address=address.strip().lower(), reply_to=reply_to)


def set_sender_validated(*, scope: Scope, sender: Sender, validated: bool) -> Sender:
    """Validate (organizers may then pick it) or withdraw a sender. Mailings already
    sending keep it; a draft with a withdrawn sender cannot start."""
    approval.require_admin(scope)
    sender.validated = validated
    sender.validated_by = scope.user if validated and scope.user.pk else None
    sender.validated_at = timezone.now() if validated else None
    sender.save(update_fields=["validated", "validated_by", "validated_at"])
    return sender
