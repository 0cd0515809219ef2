"""HQ approval of organizers' mailings, when the HQ admin turns it on.

``Mailing.approval`` moves ``"" → submitted → approved | rejected`` (a rejected or edited
mailing may be submitted again). It is separate from ``Mailing.status``, which the send
path and the workers move: approval only decides whether ``start_sending`` and
``schedule`` may go. HQ admins' own mailings need no approval.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.models import Role
from campagne.accounts.scopes import Scope
from campagne.mailing.models import Approval, Mailing, MailingSettings


def require_admin(scope: Scope) -> None:
    scope.require(scope.is_admin, _("Seul un administrateur du QG peut faire cela."))


def needs_approval(mailing: Mailing) -> bool:
    """Whether this mailing must be approved before it is sent (settings read now)."""
    author = mailing.created_by
    if author is None or author.role == Role.HQ_ADMIN:
        return False
    return MailingSettings.current().approval_required


def require_approved(mailing: Mailing) -> None:
    """Raise ValidationError when the mailing still waits for (or was refused) approval."""
    if needs_approval(mailing) and mailing.approval != Approval.APPROVED:
        raise ValidationError(_("Cet e-mail doit être validé par le QG avant d'être envoyé."))


def set_approval_required(*, scope: Scope, required: bool) -> MailingSettings:
    require_admin(scope)
    current = MailingSettings.current()
    current.approval_required = required
    current.updated_by = scope.user if scope.user.pk else None
    current.updated_at = timezone.now()
    current.save()
    return current


def _review(
    mailing: Mailing, sources: list[str], target: str, message: str, **fields: object
) -> None:
    """Conditional UPDATE: two admins clicking at once, or an edit racing a review, cannot
    both win."""
    moved = Mailing.objects.filter(
        pk=mailing.pk, approval__in=sources, status=Mailing.Status.DRAFT
    ).update(approval=target, **fields)
    if not moved:
        raise ValidationError(message)
    mailing.refresh_from_db()


def submit(*, scope: Scope, mailing: Mailing) -> None:
    """The author asks the HQ to approve a draft."""
    scope.require(scope.can_send_mailings, _("Votre rôle ne permet pas d'envoyer des e-mails."))
    if not needs_approval(mailing):
        raise ValidationError(_("Cet e-mail n'a pas besoin d'être validé."))
    _review(
        mailing,
        [Approval.NONE, Approval.REJECTED],
        Approval.SUBMITTED,
        _("Cet e-mail est déjà soumis ou validé, ou n'est plus un brouillon."),
        reviewed_by=None,
        reviewed_at=None,
    )


@transaction.atomic
def approve(*, scope: Scope, mailing: Mailing, comment: str = "") -> None:
    require_admin(scope)
    _review(
        mailing,
        [Approval.SUBMITTED],
        Approval.APPROVED,
        _("Cet e-mail n'attend pas de validation."),
        approval_comment=comment.strip(),
        reviewed_by=scope.user,
        reviewed_at=timezone.now(),
    )


@transaction.atomic
def reject(*, scope: Scope, mailing: Mailing, comment: str) -> None:
    """Refuse, saying why: the author reads the comment, edits and submits again."""
    require_admin(scope)
    if not comment.strip():
        raise ValidationError({"comment": _("Dites à l'auteur pourquoi vous refusez.")})
    _review(
        mailing,
        [Approval.SUBMITTED],
        Approval.REJECTED,
        _("Cet e-mail n'attend pas de validation."),
        approval_comment=comment.strip(),
        reviewed_by=scope.user,
        reviewed_at=timezone.now(),
    )


def withdraw_after_edit(mailing: Mailing) -> None:
    """An approval covers the text that was read: any edit needs a new one."""
    if mailing.approval in (Approval.SUBMITTED, Approval.APPROVED):
        Mailing.objects.filter(pk=mailing.pk).update(approval=Approval.NONE)
        mailing.approval = Approval.NONE
