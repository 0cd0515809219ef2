"""Mailing endpoints: /api/v1/mailings…

HQ sees every mailing and an organizer the ones they created (404 for the others).
Starting a send needs ``can_send_mailings`` (HQ admin, organizers): HQ staff get 403.
"""

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Router, Schema

from campagne.accounts.scopes import scope_for
from campagne.lib.api_errors import AUTH_ERRORS, errors
from campagne.mailing import actions
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


class MailingOut(Schema):
    id: int
    subject: str
    status: str
    sender: str
    started_at: datetime | None
    finished_at: datetime | None
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
