"""A mailing's figures: sending, opens and clicks (human and machine), unsubscribes,
over time, by territory and by segment of its audience. Every figure is counted in SQL
from the rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.scopes import Scope, scope_for
from campagne.lib import charts
from campagne.mailing.actions import UNSUBSCRIBE_SOURCE, system_scope
from campagne.mailing.models import Mailing, Recipient
from campagne.people.models import EventKind, TimelineEvent
from campagne.tracking.models import Hit, Link

OPEN, CLICK = Hit.Kind.OPEN, Hit.Kind.CLICK
# Recipients whose message left (accepted, or refused by the receiving server).
LEFT = [Recipient.Status.SENT, Recipient.Status.BOUNCED]
TOP_COMMUNES = 20
OPENS_COLOR, CLICKS_COLOR = "#2563eb", "#b91c1c"
# Past this span of human hits, the chart counts them per day rather than per hour.
HOURLY_SPAN = timedelta(hours=48)


@dataclass
class Chart:
    """Human opens and clicks per hour (per day past the first 48 hours): the buckets
    (also the API's timeline and the page's table) and their drawing."""

    unit: str = "hour"
    buckets: list[tuple[datetime, int, int]] = field(default_factory=list)
    peak: int = 0
    drawing: charts.LineChart | None = None

    @property
    def rows(self) -> list[tuple[str, int, int]]:
        """The buckets with their period spelled out, for the table under the chart."""
        return [(self.label(at), opens, clicks) for at, opens, clicks in self.buckets]

    def label(self, at: datetime) -> str:
        if self.unit == "hour":
            return charts.hour_label(at, with_day=True)
        return charts.day_label(at.date())


def complaint_count(mailing: Mailing) -> int:
    """Spam complaints (feedback loops, e-mail services' webhooks) about this mailing."""
    return mailing.delivery_counts()["complaints"]


def _unsubscribed_here(mailing: Mailing) -> QuerySet[TimelineEvent]:
    """Withdrawals of e-mail consent through this mailing's unsubscribe link (the proof
    written by ``mailing.actions.unsubscribe`` names the mailing first)."""
    return TimelineEvent.objects.filter(
        kind=EventKind.CONSENT,
        data__source=UNSUBSCRIBE_SOURCE,
        data__granted=False,
        data__proof__startswith=f'{{"mailing": {mailing.pk},',
    )


def unsubscribe_count(mailing: Mailing) -> int:
    """People who unsubscribed through this mailing."""
    people = Recipient.objects.filter(mailing=mailing).values("person_id")
    return (
        _unsubscribed_here(mailing)
        .filter(person_id__in=people)
        .values("person_id")
        .distinct()
        .count()
    )


def _hit_figures(mailing: Mailing) -> dict[str, Any]:
    human, machine = Q(machine=False), Q(machine=True)
    return Hit.objects.filter(mailing=mailing).aggregate(
        # A click is an open too (images blocked, or the pixel off): openers count both.
        human_openers=Count("recipient", distinct=True, filter=human),
        machine_openers=Count("recipient", distinct=True, filter=machine & Q(kind=OPEN)),
        machine_opens=Count("id", filter=machine & Q(kind=OPEN)),
        human_opens=Count("id", filter=human & Q(kind=OPEN)),
        human_clickers=Count("recipient", distinct=True, filter=human & Q(kind=CLICK)),
        human_clicks=Count("id", filter=human & Q(kind=CLICK)),
        machine_clicks=Count("id", filter=machine & Q(kind=CLICK)),
        first=Min("at", filter=human),
        last=Max("at", filter=human),
    )


def _links(mailing: Mailing) -> list[dict[str, Any]]:
    counts = {
        row["link_number"]: row
        for row in Hit.objects.filter(mailing=mailing, kind=CLICK)
        .values("link_number")
        .annotate(
            clickers=Count("recipient", distinct=True, filter=Q(machine=False)),
            clicks=Count("id", filter=Q(machine=False)),
            machine_clicks=Count("id", filter=Q(machine=True)),
        )
    }
    empty = {"clickers": 0, "clicks": 0, "machine_clicks": 0}
    return [
        {
            "number": link.number,
            "url": link.url,
            **{k: counts.get(link.number, empty)[k] for k in empty},
        }
        for link in Link.objects.filter(mailing=mailing).order_by("number")
    ]


def _chart(mailing: Mailing, first: datetime | None, last: datetime | None) -> Chart:
    if first is None or last is None:
        return Chart()
    unit = "hour" if last - first <= HOURLY_SPAN else "day"
    trunc = TruncHour if unit == "hour" else TruncDay
    rows = (
        Hit.objects.filter(mailing=mailing, machine=False)
        .annotate(bucket=trunc("at"))
        .values("bucket")
        .annotate(opens=Count("id", filter=Q(kind=OPEN)), clicks=Count("id", filter=Q(kind=CLICK)))
        .order_by("bucket")
    )
    # Keyed by instant (hours) or by local date (days), so that the gaps are filled with
    # zeros whatever the daylight saving time does.
    if unit == "hour":
        found = {row["bucket"].timestamp(): row for row in rows}
        keys = range(int(min(found)), int(max(found)) + 1, 3600) if found else range(0)
        at_key = {k: datetime.fromtimestamp(k, tz=timezone.get_current_timezone()) for k in keys}
    else:
        found = {timezone.localtime(row["bucket"]).date(): row for row in rows}
        day, days = min(found), []
        while day <= max(found):
            days.append(day)
            day += timedelta(days=1)
        at_key = {d: datetime.combine(d, datetime.min.time()) for d in days}
    buckets = [
        (at, found[k]["opens"] if k in found else 0, found[k]["clicks"] if k in found else 0)
        for k, at in list(at_key.items())[:400]
    ]
    if not buckets:
        return Chart()
    chart = Chart(unit=unit, buckets=buckets, peak=max(max(b[1], b[2]) for b in buckets))
    chart.drawing = _drawing(chart)
    return chart


def _drawing(chart: Chart) -> charts.LineChart | None:
    moments = [at for at, _opens, _clicks in chart.buckets]
    if chart.unit == "hour":
        keys = [charts.hour_key(at) for at in moments]
        steps = charts.HOUR_STEPS

        def x_label(index: int, previous: int | None) -> str:
            # The day is said on the first label and whenever it changes.
            new_day = previous is None or moments[previous].date() != moments[index].date()
            return charts.hour_label(moments[index], with_day=new_day)

    else:
        keys = [charts.day_key(at.date()) for at in moments]
        steps = charts.DAY_STEPS

        def x_label(index: int, previous: int | None) -> str:
            return charts.day_label(moments[index].date())

    return charts.line_chart(
        lines=[
            charts.Line(_("Ouvertures"), [b[1] for b in chart.buckets], OPENS_COLOR),
            charts.Line(_("Clics"), [b[2] for b in chart.buckets], CLICKS_COLOR),
        ],
        x_keys=keys,
        x_steps=steps,
        x_label=x_label,
        point_label=lambda index: chart.label(moments[index]),
    )


def _by_territory(mailing: Mailing, key: str, name: str) -> list[dict[str, Any]]:
    """Recipients, human openers and clickers, grouped by a territory of the person."""
    hits = Hit.objects.filter(recipient=OuterRef("pk"), machine=False)
    rows = (
        Recipient.objects.filter(mailing=mailing, status__in=LEFT)
        .values(code=F(key), label=F(name))
        .annotate(
            recipients=Count("id"),
            openers=Count("id", filter=Q(Exists(hits))),
            clickers=Count("id", filter=Q(Exists(hits.filter(kind=CLICK)))),
        )
        .order_by("-recipients", "code")
    )
    return list(rows)


def _segment_scope(mailing: Mailing) -> Scope:
    """The scope a segment's members are computed in: that of the mailing's creator,
    which froze its audience. If the creator is gone or may no longer read people, the
    system's (the recipients were already chosen within the creator's scope)."""
    creator = mailing.created_by
    if creator is not None:
        scope = scope_for(creator)
        if scope.can_read_people:
            return scope
    return system_scope()


def _by_segment(mailing: Mailing) -> list[dict[str, Any]]:
    """For each segment of the audience: recipients whose person is (today) in it, human
    openers, clickers and unsubscribes among them. One query per segment (plus one per
    level of segments it includes); a person in two segments counts in both."""
    scope = _segment_scope(mailing)
    hits = Hit.objects.filter(recipient=OuterRef("pk"), machine=False)
    left_here = _unsubscribed_here(mailing).filter(person_id=OuterRef("person_id"))
    rows = []
    for segment in mailing.segments.order_by("name", "pk"):
        figures = Recipient.objects.filter(
            mailing=mailing,
            status__in=LEFT,
            person__in=segment.members(scope).values("pk"),
        ).aggregate(
            recipients=Count("id"),
            openers=Count("id", filter=Q(Exists(hits))),
            clickers=Count("id", filter=Q(Exists(hits.filter(kind=CLICK)))),
            unsubscribes=Count("id", filter=Q(Exists(left_here))),
        )
        rows.append({"id": segment.pk, "name": segment.name, **figures})
    return rows


def mailing_report(mailing: Mailing) -> dict[str, Any]:
    counts = mailing.counts()
    delivery = mailing.delivery_counts()
    hits = _hit_figures(mailing)
    delivered = counts[Recipient.Status.SENT]

    def rate(value: int) -> float | None:
        return round(value / delivered, 4) if delivered else None

    departements = _by_territory(
        mailing, "person__commune__departement_id", "person__commune__departement__name"
    )
    communes = _by_territory(mailing, "person__commune_id", "person__commune__name")
    return {
        "sent": delivered + counts[Recipient.Status.BOUNCED],
        "delivered": delivered,
        "hard_bounces": delivery["hard_bounces"],
        "soft_bounces": delivery["soft_bounces"],
        "complaints": complaint_count(mailing),
        "unsubscribes": unsubscribe_count(mailing),
        "human_openers": hits["human_openers"],
        "human_opens": hits["human_opens"],
        "human_open_rate": rate(hits["human_openers"]),
        "machine_openers": hits["machine_openers"],
        "machine_opens": hits["machine_opens"],
        "human_clickers": hits["human_clickers"],
        "human_clicks": hits["human_clicks"],
        "human_click_rate": rate(hits["human_clickers"]),
        "machine_clicks": hits["machine_clicks"],
        "links": _links(mailing),
        "chart": _chart(mailing, hits["first"], hits["last"]),
        "departements": departements,
        "communes": communes[:TOP_COMMUNES],
        "segments": _by_segment(mailing),
    }
