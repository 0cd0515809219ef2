"""Mailing endpoints: /api/v1/mailings…

HQ sees every mailing and an organizer the ones they created (404 for the others).
Starting, scheduling, pausing, resuming and cancelling a send, and submitting it for
approval, need ``can_send_mailings`` (HQ admin, organizers): HQ staff get 403. Approving
and rejecting need an HQ admin. The same actions as the pages.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router, Schema

from campagne.accounts.scopes import scope_for
from campagne.lib.api_errors import AUTH_ERRORS, errors
from campagne.mailing import actions, approval, scheduling
from campagne.mailing.models import Mailing, mailing_for

router = Router(tags=["mailings"])

MailingId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class Counts(Schema):
    queued: int
    claimed: int
    sending: int
    sent: int
    failed: int
    bounced: int
    held: int


class MailingOut(Schema):
    id: int
    subject: str
    status: str
    sender: str
    started_at: datetime | None
    finished_at: datetime | None
    scheduled_at: datetime | None
    approval: str
    approval_comment: str
    subject_b: str
    ab_winner: str
    counts: Counts

    @staticmethod
    def resolve_sender(obj: Mailing) -> str:
        return str(obj.sender)

    @staticmethod
    def resolve_counts(obj: Mailing) -> dict[str, int]:
        return obj.counts()


class SendOut(Schema):
    recipients: int
    suppressed: int


@router.get(
    "/{mailing_id}",
    response={200: MailingOut, **AUTH_ERRORS, **errors(404, 422)},
    summary="A mailing and its counts",
)
def get_mailing(request: HttpRequest, mailing_id: MailingId) -> Mailing:
    return mailing_for(scope_for(request.user), mailing_id)


@router.post(
    "/{mailing_id}/send",
    response={200: SendOut, **AUTH_ERRORS, **errors(403, 404, 422)},
    summary="Freeze the audience and start sending",
)
def send_mailing(request: HttpRequest, mailing_id: MailingId) -> dict[str, int]:
    scope = scope_for(request.user)
    return actions.start_sending(scope=scope, mailing=mailing_for(scope, mailing_id))


class ReviewIn(Schema):
    comment: str = ""


class ScheduleIn(Schema):
    scheduled_at: datetime


def _verb(
    request: HttpRequest, mailing_id: int, verb: Callable[..., Any], **kwargs: Any
) -> Mailing:
    scope = scope_for(request.user)
    mailing = mailing_for(scope, mailing_id)
    verb(scope=scope, mailing=mailing, **kwargs)
    mailing.refresh_from_db()
    return mailing


WRITE = {200: MailingOut, **AUTH_ERRORS, **errors(403, 404, 422)}


@router.post("/{mailing_id}/submit", response=WRITE, summary="Submit for HQ approval")
def submit_mailing(request: HttpRequest, mailing_id: MailingId) -> Mailing:
    return _verb(request, mailing_id, approval.submit)


@router.post("/{mailing_id}/approve", response=WRITE, summary="Approve (HQ admin)")
def approve_mailing(request: HttpRequest, mailing_id: MailingId, body: ReviewIn) -> Mailing:
    return _verb(request, mailing_id, approval.approve, comment=body.comment)


@router.post("/{mailing_id}/reject", response=WRITE, summary="Reject with a comment (HQ admin)")
def reject_mailing(request: HttpRequest, mailing_id: MailingId, body: ReviewIn) -> Mailing:
    return _verb(request, mailing_id, approval.reject, comment=body.comment)


@router.post("/{mailing_id}/schedule", response=WRITE, summary="Schedule the send")
def schedule_mailing(request: HttpRequest, mailing_id: MailingId, body: ScheduleIn) -> Mailing:
    return _verb(request, mailing_id, scheduling.schedule, at=body.scheduled_at)


@router.post("/{mailing_id}/unschedule", response=WRITE, summary="Back to draft")
def unschedule_mailing(request: HttpRequest, mailing_id: MailingId) -> Mailing:
    return _verb(request, mailing_id, scheduling.unschedule)


@router.post("/{mailing_id}/pause", response=WRITE, summary="Pause a send")
def pause_mailing(request: HttpRequest, mailing_id: MailingId) -> Mailing:
    return _verb(request, mailing_id, actions.pause_sending)


@router.post("/{mailing_id}/resume", response=WRITE, summary="Resume a paused send")
def resume_mailing(request: HttpRequest, mailing_id: MailingId) -> Mailing:
    return _verb(request, mailing_id, actions.resume_paused)


@router.post("/{mailing_id}/cancel", response=WRITE, summary="Cancel (nothing more leaves)")
def cancel_mailing(request: HttpRequest, mailing_id: MailingId) -> Mailing:
    return _verb(request, mailing_id, actions.cancel_sending)
