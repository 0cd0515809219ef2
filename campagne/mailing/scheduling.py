"""Scheduling a mailing: a start task enqueued to run at ``scheduled_at``.

The task carries the time it was scheduled for and checks it again when it runs: a
mailing cancelled, edited (back to draft) or rescheduled since does not go, so a stale
task is harmless and no task ever needs to be deleted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from campagne.accounts.scopes import Scope, scope_for
from campagne.mailing import actions, approval
from campagne.mailing.models import Mailing

logger = logging.getLogger(__name__)
# A schedule closer than this is refused: say "send now" instead.
MINIMUM_DELAY = timedelta(minutes=1)


def schedule(*, scope: Scope, mailing: Mailing, at: datetime) -> None:
    """Draft (or scheduled) → scheduled for ``at``, which must be in the future."""
    actions.require_send(scope)
    if timezone.is_naive(at):
        raise ValidationError({"scheduled_at": _("Indiquez une date avec son fuseau horaire.")})
    if at < timezone.now() + MINIMUM_DELAY:
        raise ValidationError({"scheduled_at": _("Choisissez une date dans le futur.")})
    if not mailing.sender.validated:
        raise ValidationError({"sender": _("Cet expéditeur n'a pas été validé par le QG.")})
    approval.require_approved(mailing)
    with transaction.atomic():
        moved = Mailing.objects.filter(
            pk=mailing.pk, status__in=[Mailing.Status.DRAFT, Mailing.Status.SCHEDULED]
        ).update(status=Mailing.Status.SCHEDULED, scheduled_at=at)
        if not moved:
            raise ValidationError(_("Cet envoi a déjà commencé."))
        transaction.on_commit(
            lambda: start_scheduled_task.using(run_after=at).enqueue(mailing.pk, at.isoformat())
        )
    mailing.refresh_from_db()


def unschedule(*, scope: Scope, mailing: Mailing) -> None:
    """Scheduled → draft; the pending task will find nothing to do."""
    actions.require_send(scope)
    moved = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SCHEDULED).update(
        status=Mailing.Status.DRAFT, scheduled_at=None
    )
    if not moved:
        raise ValidationError(_("Cet envoi n'est pas programmé."))
    mailing.refresh_from_db()


def start_scheduled(mailing_id: int, scheduled_for: str) -> str:
    """Start the send if the mailing is still scheduled for that very time. Runs as the
    mailing's author, so the audience is still computed within their scope."""
    at = datetime.fromisoformat(scheduled_for)
    mailing = (
        Mailing.objects.select_related("sender", "created_by")
        .filter(pk=mailing_id, status=Mailing.Status.SCHEDULED, scheduled_at=at)
        .first()
    )
    if mailing is None:
        return "skipped"
    author = mailing.created_by
    scope = scope_for(author) if author is not None else actions.system_scope()
    try:
        actions.start_sending(scope=scope, mailing=mailing)
    except (ValidationError, PermissionDenied, ImproperlyConfigured) as exc:
        # The author's role changed, approval was withdrawn, the sender unvalidated…:
        # back to draft, so that the author sees it did not go and why (in the log).
        logger.warning("scheduled mailing %s not started: %s", mailing_id, exc)
        Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SCHEDULED).update(
            status=Mailing.Status.DRAFT, scheduled_at=None
        )
        return "refused"
    return "started"


@task(queue_name="mailing")
def start_scheduled_task(mailing_id: int, scheduled_for: str) -> str:
    return start_scheduled(mailing_id, scheduled_for)
