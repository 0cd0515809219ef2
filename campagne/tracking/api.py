"""GET /api/v1/mailings/{id}/report: the same figures as the report page, same scoping
(HQ: every mailing; an organizer: their own; anyone else: 404).

``segments``: for each segment of the audience, the recipients whose person is in it
today (its members in the scope of the mailing's creator), with human openers, clickers
and unsubscribes among them; segments may overlap."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router, Schema

from campagne.accounts.scopes import scope_for
from campagne.lib.api_errors import AUTH_ERRORS, errors
from campagne.mailing.models import mailing_for
from campagne.tracking.report import mailing_report

router = Router(tags=["mailings"])

MailingId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class LinkOut(Schema):
    number: int
    url: str
    clickers: int
    clicks: int
    machine_clicks: int


class TerritoryOut(Schema):
    code: str | None
    label: str | None
    recipients: int
    openers: int
    clickers: int


class SegmentOut(Schema):
    id: int
    name: str
    recipients: int
    openers: int
    clickers: int
    unsubscribes: int


class BucketOut(Schema):
    at: str
    opens: int
    clicks: int


class ReportOut(Schema):
    mailing: int
    sent: int
    delivered: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    unsubscribes: int
    human_openers: int
    human_opens: int
    human_open_rate: float | None
    machine_openers: int
    machine_opens: int
    human_clickers: int
    human_clicks: int
    human_click_rate: float | None
    machine_clicks: int
    links: list[LinkOut]
    timeline_unit: str
    timeline: list[BucketOut]
    departements: list[TerritoryOut]
    communes: list[TerritoryOut]
    segments: list[SegmentOut]


@router.get(
    "/{mailing_id}/report",
    response={200: ReportOut, **AUTH_ERRORS, **errors(404, 422)},
    summary=(
        "A mailing's report: delivery, human and machine opens, clicks, by territory and by segment"
    ),
)
def get_report(request: HttpRequest, mailing_id: MailingId) -> dict[str, Any]:
    mailing = mailing_for(scope_for(request.user), mailing_id)
    report = mailing_report(mailing)
    chart = report.pop("chart")
    return {
        "mailing": mailing.pk,
        **report,
        "timeline_unit": chart.unit,
        "timeline": [
            {"at": at.isoformat(), "opens": opens, "clicks": clicks}
            for at, opens, clicks in chart.buckets
        ],
    }
