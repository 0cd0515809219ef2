"""Results of a field campaign: the figures of its dashboard, computed in SQL.

Every figure counts the records that stand: not superseded by a later record of the same
door, and not held back by the plausibility review (``review`` is "ok"; a flagged or
rejected record counts again only once an organizer validates it). Rows come from
``scope.canvasses()`` and ``scope.turfs()``, so an organizer of Digne sees only Digne and
a volunteer only the doors they recorded.

The definitions, the same for doors and calls:
- knocked: records (a door knocked, a call made);
- opened: someone answered (refused, positive, negative, undecided);
- conversations: positive, negative or undecided;
- open rate = opened ÷ knocked; positive rate = positive ÷ conversations;
- opened per positive = opened ÷ positive (the 2012 campaign's "1 in 14");
- coverage: the share of the campaign's doors (households × doors of each building) of its
  priority stations knocked at least once, by day; for calls, the share of the call queue
  reached at least once.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Avg, Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.models import Role
from campagne.accounts.scopes import Scope
from campagne.canvassing.models import (
    CONVERSATION_OUTCOMES,
    OPENED_OUTCOMES,
    Canvass,
    Channel,
    FieldCampaign,
    Outcome,
    Session,
    Turf,
    TurfStop,
)
from campagne.lib import charts

# Records that count: the latest of their door, not held back by the review.
COUNTED = Q(superseded=False, review=Canvass.Review.OK)


def local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _local_day(path: str = "recorded_at") -> TruncDate:
    # Days as the volunteers live them (Europe/Paris), not UTC days.
    return TruncDate(path, tzinfo=local_zone())


# --- filters ------------------------------------------------------------------------------
def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Filters:
    """Narrow a dashboard to a station, a turf, a team or a volunteer."""

    station: str = ""
    turf: int | None = None
    team: int | None = None
    volunteer: int | None = None

    @classmethod
    def from_query(cls, data: QueryDict | dict[str, Any]) -> Filters:
        # Unknown or malformed values are ignored, not an error: a filter on something
        # outside the user's scope simply matches nothing, since rows are scoped first.
        return cls(
            station=str(data.get("bureau") or "")[:16],
            turf=_int_or_none(data.get("secteur")),
            team=_int_or_none(data.get("equipe")),
            volunteer=_int_or_none(data.get("militant")),
        )

    def __bool__(self) -> bool:
        return bool(self.station or self.turf or self.team or self.volunteer)

    def as_query(self) -> dict[str, str]:
        """The GET parameters that give these filters back (links, the polled fragment)."""
        pairs = {
            "bureau": self.station,
            "secteur": self.turf,
            "equipe": self.team,
            "militant": self.volunteer,
        }
        return {key: str(value) for key, value in pairs.items() if value not in (None, "")}

    def apply(self, canvasses: QuerySet[Canvass]) -> QuerySet[Canvass]:
        if self.station:
            canvasses = canvasses.filter(turf__station_id=self.station)
        if self.turf is not None:
            canvasses = canvasses.filter(turf_id=self.turf)
        if self.team is not None:
            canvasses = canvasses.filter(session__team_id=self.team)
        if self.volunteer is not None:
            canvasses = canvasses.filter(volunteer_id=self.volunteer)
        return canvasses


def counted_canvasses(
    scope: Scope, campaign: FieldCampaign, filters: Filters | None = None
) -> QuerySet[Canvass]:
    """The records of ``campaign`` that count, within ``scope``, narrowed by ``filters``."""
    rows = scope.canvasses().filter(COUNTED, campaign=campaign)
    return filters.apply(rows) if filters else rows


# --- figures ------------------------------------------------------------------------------
def _aggregates() -> dict[str, Any]:
    return {
        "knocked": Count("pk"),
        "opened": Count("pk", filter=Q(outcome__in=OPENED_OUTCOMES)),
        "conversations": Count("pk", filter=Q(outcome__in=CONVERSATION_OUTCOMES)),
        "positive": Count("pk", filter=Q(outcome=Outcome.POSITIVE)),
        "volunteers": Count("pk", filter=Q(wants_to_volunteer=True)),
    }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Figures:
    knocked: int = 0
    opened: int = 0
    conversations: int = 0
    positive: int = 0
    volunteers: int = 0  # people who want to join

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Figures:
        return cls(**{name: row.get(name) or 0 for name in cls.__dataclass_fields__})

    @property
    def open_rate(self) -> float | None:
        return _ratio(self.opened, self.knocked)

    @property
    def positive_rate(self) -> float | None:
        return _ratio(self.positive, self.conversations)

    # Percentages for the pages (None shows as a dash).
    @property
    def open_percent(self) -> float | None:
        rate = self.open_rate
        return None if rate is None else 100 * rate

    @property
    def positive_percent(self) -> float | None:
        rate = self.positive_rate
        return None if rate is None else 100 * rate

    @property
    def opened_per_positive(self) -> float | None:
        """Doors opened for one positive contact (None before the first positive)."""
        return _ratio(self.opened, self.positive)


def totals(canvasses: QuerySet[Canvass]) -> Figures:
    """The figures of ``canvasses`` in one aggregate query."""
    return Figures.from_row(canvasses.order_by().aggregate(**_aggregates()))


@dataclass(frozen=True)
class Row:
    key: Any
    label: str
    figures: Figures


# How each breakdown groups: its key, and the columns its label is made of.
_BREAKDOWNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "station": ("turf__station_id", ("turf__station__commune__name", "turf__station__number")),
    "turf": ("turf_id", ("turf__number", "turf__name")),
    "team": ("session__team_id", ("session__team__name",)),
    "volunteer": ("volunteer_id", ("volunteer__first_name", "volunteer__last_name")),
}


def _label(kind: str, values: list[Any]) -> str:
    if kind == "station":
        commune, number = values
        return f"{commune or ''} — {number or ''}".strip(" —")
    if kind == "turf":
        number, name = values
        return name or f"{number}"
    return " ".join(str(value) for value in values if value).strip()


def breakdown(canvasses: QuerySet[Canvass], by: str) -> list[Row]:
    """The figures of ``canvasses`` per station, turf, team or volunteer (one GROUP BY).

    Records without the key (a call has no turf, a door walked alone no team) are left
    out of this breakdown; they are in the totals.
    """
    key, label_columns = _BREAKDOWNS[by]
    grouped = (
        canvasses.order_by()
        .exclude(**{f"{key}__isnull": True})
        .values(key, *label_columns)
        .annotate(**_aggregates())
        .order_by("-knocked", key)
    )
    return [
        Row(
            key=row[key],
            label=_label(by, [row[column] for column in label_columns]),
            figures=Figures.from_row(row),
        )
        for row in grouped
    ]


def by_day(canvasses: QuerySet[Canvass]) -> list[Row]:
    """The figures per local day, oldest first."""
    grouped = (
        canvasses.order_by()
        .annotate(day=_local_day())
        .values("day")
        .annotate(**_aggregates())
        .order_by("day")
    )
    return [
        Row(key=row["day"], label=_as_date(row["day"]).isoformat(), figures=Figures.from_row(row))
        for row in grouped
    ]


def _as_date(value: Any) -> dt.date:
    # A raw cursor on SQLite gives "YYYY-MM-DD"; PostgreSQL and the ORM give a date.
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# --- coverage -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StationCoverage:
    station_id: str
    label: str
    doors: int
    reached: int

    @property
    def rate(self) -> float:
        return min(1.0, self.reached / self.doors) if self.doors else 0.0

    @property
    def percent(self) -> float:
        return 100 * self.rate


@dataclass(frozen=True)
class Coverage:
    """How much of the campaign's doors (or call queue) was reached, day after day."""

    total: int
    # (day, units reached for the first time that day), oldest first.
    daily: list[tuple[dt.date, int]]
    stations: list[StationCoverage] = field(default_factory=list)

    @property
    def reached(self) -> int:
        return min(self.total, sum(count for _day, count in self.daily))

    @property
    def rate(self) -> float:
        return self.reached / self.total if self.total else 0.0

    @property
    def percent(self) -> float:
        return 100 * self.rate

    def cumulative(self) -> list[tuple[dt.date, float]]:
        """(day, share reached by the end of that day), every day from the first to the
        last, days without records included so the line does not skip time."""
        if not self.daily or not self.total:
            return []
        per_day = dict(self.daily)
        day, last = self.daily[0][0], self.daily[-1][0]
        points, running = [], 0
        while day <= last:
            running += per_day.get(day, 0)
            points.append((day, min(1.0, running / self.total)))
            day += dt.timedelta(days=1)
        return points


def _first_reached(canvasses: QuerySet[Canvass], unit: tuple[str, ...], group: str | None) -> Any:
    """Rows (group, day, count): how many units (a door, a person) were reached for the
    first time on each day — a GROUP BY over a GROUP BY, in one query."""
    inner = canvasses.order_by()
    if group:
        inner = inner.annotate(group_key=F(group))
    inner = inner.values(*unit, *(("group_key",) if group else ())).annotate(
        first_day=Min(_local_day())
    )
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:  # a scope or filter that matches nothing
        return []
    # PostgreSQL refuses GROUP BY NULL: without a group, group by the day alone.
    select = "firsts.group_key" if group else "NULL"
    grouping = "firsts.group_key, firsts.first_day" if group else "firsts.first_day"
    # The inner query is Django's own, with its parameters passed separately.
    outer = (
        f"SELECT {select}, firsts.first_day, COUNT(*) FROM ({sql}) firsts "  # noqa: S608
        f"GROUP BY {grouping} ORDER BY firsts.first_day"
    )
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        return [(row[0], _as_date(row[1]), row[2]) for row in cursor.fetchall()]


def door_coverage(scope: Scope, campaign: FieldCampaign) -> Coverage:
    """Coverage of the campaign's priority stations (its stations; those of its turfs
    when it names none), from the turfs and doors within ``scope``."""
    stations = list(campaign.stations.values_list("pk", flat=True))
    turfs = scope.turfs().filter(campaign=campaign)
    if stations:
        turfs = turfs.filter(station_id__in=stations)
    doors = dict(
        TurfStop.objects.filter(turf__in=turfs)
        .order_by()
        .values("turf__station_id")
        .annotate(doors=Sum("doors"))
        .values_list("turf__station_id", "doors")
    )
    labels = {
        pk: f"{commune or pk} — {number}"
        for pk, commune, number in Turf.objects.filter(pk__in=turfs.values("pk"))
        .order_by()
        .values_list("station_id", "station__commune__name", "station__number")
        .distinct()
    }
    knocked = counted_canvasses(scope, campaign).filter(
        turf__in=turfs, address__isnull=False, turf__station_id__in=list(doors)
    )
    rows = _first_reached(knocked, ("address_id", "door"), "turf__station_id")
    per_day: dict[dt.date, int] = defaultdict(int)
    per_station: dict[str, int] = defaultdict(int)
    for station_id, day, count in rows:
        per_day[day] += count
        per_station[station_id] += count
    return Coverage(
        total=sum(doors.values()),
        daily=sorted(per_day.items()),
        stations=sorted(
            (
                StationCoverage(
                    station_id=pk,
                    label=labels.get(pk, pk),
                    doors=count,
                    reached=min(count, per_station.get(pk, 0)),
                )
                for pk, count in doors.items()
            ),
            key=lambda item: (-item.rate, item.label),
        ),
    )


def call_coverage(scope: Scope, campaign: FieldCampaign) -> Coverage:
    """Share of the call queue (within ``scope``) reached by a call at least once."""
    queue = scope.call_targets().filter(campaign=campaign)
    if scope.role == Role.VOLUNTEER:
        queue = queue.none()
    called = counted_canvasses(scope, campaign).filter(
        person_id__in=queue.values("person_id"), channel=Channel.PHONE
    )
    rows = _first_reached(called, ("person_id",), None)
    return Coverage(total=queue.count(), daily=[(day, count) for _g, day, count in rows])


def coverage(scope: Scope, campaign: FieldCampaign) -> Coverage:
    if campaign.channel == Channel.PHONE:
        return call_coverage(scope, campaign)
    return door_coverage(scope, campaign)


# --- the coverage chart (inline SVG, drawn by core/line_chart.html) ---------------------
COVERAGE_COLOR = "#b3125b"  # the site's accent colour


def coverage_chart(series: list[tuple[dt.date, float]]) -> charts.LineChart | None:
    """The cumulative coverage, in percent of the units to reach, one point a day; the
    y axis goes from 0 % to a round value just above the last day's."""
    if not series:
        return None
    days = [day for day, _share in series]
    return charts.line_chart(
        lines=[
            charts.Line(
                _("Part atteinte"), [100 * share for _day, share in series], COVERAGE_COLOR, True
            )
        ],
        x_keys=[charts.day_key(day) for day in days],
        x_steps=charts.DAY_STEPS,
        x_label=lambda index, _previous: charts.day_label(days[index]),
        point_label=lambda index: charts.day_label(days[index]),
        y_label=charts.percent_label,
        integer=False,
    )


# --- the map of turfs ---------------------------------------------------------------------
class TurfState:
    DONE = "done"
    IN_PROGRESS = "in_progress"
    LEFT = "left"


def turf_map(scope: Scope, campaign: FieldCampaign) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the campaign's turfs in ``scope``: one point per
    turf (the middle of its addresses) with its state — done, in progress or left.

    Done: marked done, or every household reached. In progress: some households reached
    or an open session on it. Left: neither.
    """
    turfs = scope.turfs().filter(campaign=campaign)
    places = {
        row["turf_id"]: row
        for row in TurfStop.objects.filter(turf__in=turfs, address__latitude__isnull=False)
        .order_by()
        .values("turf_id")
        .annotate(
            latitude=Avg("address__latitude"),
            longitude=Avg("address__longitude"),
            south=Min("address__latitude"),
            north=Max("address__latitude"),
            west=Min("address__longitude"),
            east=Max("address__longitude"),
        )
    }
    reached = dict(
        counted_canvasses(scope, campaign)
        .filter(turf__in=turfs, address__isnull=False)
        .order_by()
        .values("turf_id")
        .annotate(households=Count("address_id", distinct=True))
        .values_list("turf_id", "households")
    )
    with_session = set(
        Session.objects.filter(turf__in=turfs, status__in=Session.OPEN_STATUSES).values_list(
            "turf_id", flat=True
        )
    )
    features = []
    rows = turfs.order_by("number").values(
        "pk", "number", "name", "status", "households", "doors", "station_id"
    )
    for turf in rows:
        place = places.get(turf["pk"])
        if place is None:
            continue
        done_households = reached.get(turf["pk"], 0)
        if turf["status"] == Turf.Status.DONE or (
            turf["households"] and done_households >= turf["households"]
        ):
            state = TurfState.DONE
        elif done_households or turf["pk"] in with_session:
            state = TurfState.IN_PROGRESS
        else:
            state = TurfState.LEFT
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(place["longitude"], 6), round(place["latitude"], 6)],
                },
                "properties": {
                    "turf": turf["pk"],
                    "label": turf["name"] or str(turf["number"]),
                    "station": turf["station_id"] or "",
                    "state": state,
                    "households": turf["households"],
                    "reached": done_households,
                    "bounds": [
                        [place["south"], place["west"]],
                        [place["north"], place["east"]],
                    ],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- the dashboard as a whole -------------------------------------------------------------
@dataclass(frozen=True)
class Goal:
    label: str
    done: int
    target: int

    @property
    def rate(self) -> float:
        return min(1.0, self.done / self.target) if self.target else 0.0

    @property
    def percent(self) -> float:
        return 100 * self.rate


@dataclass
class Dashboard:
    campaign: FieldCampaign
    filters: Filters
    personal: bool  # a volunteer: their own figures only
    totals: Figures
    days: list[Row]
    breakdowns: dict[str, list[Row]] = field(default_factory=dict)
    goals: list[Goal] = field(default_factory=list)
    coverage: Coverage | None = None
    chart: charts.LineChart | None = None
    turf_map: dict[str, Any] | None = None
    updated_at: dt.datetime = field(default_factory=timezone.now)


def dashboard(scope: Scope, campaign: FieldCampaign, filters: Filters) -> Dashboard:
    """Every figure of a campaign's dashboard for ``scope``.

    Volunteers get their own figures only (their records), without the campaign's
    goals, coverage or map, which would be the campaign's, not theirs.
    """
    canvasses = counted_canvasses(scope, campaign, filters)
    figures = totals(canvasses)
    personal = not scope.can_read_field
    board = Dashboard(
        campaign=campaign,
        filters=filters,
        personal=personal,
        totals=figures,
        days=by_day(canvasses),
    )
    if personal:
        return board
    kinds = ("volunteer",) if campaign.channel == Channel.PHONE else tuple(_BREAKDOWNS)
    board.breakdowns = {kind: breakdown(canvasses, kind) for kind in kinds}
    if not filters:
        phone = campaign.channel == Channel.PHONE
        board.goals = [
            Goal(_("Appels") if phone else _("Portes"), figures.knocked, campaign.goal_doors),
            Goal(_("Conversations"), figures.conversations, campaign.goal_conversations),
        ]
        board.goals = [goal for goal in board.goals if goal.target]
        board.coverage = coverage(scope, campaign)
        board.chart = coverage_chart(board.coverage.cumulative())
        if not phone:
            board.turf_map = turf_map(scope, campaign)
    return board


def campaign_summaries(scope: Scope, campaigns: QuerySet[FieldCampaign]) -> dict[int, Figures]:
    """Headline figures of several campaigns, in one GROUP BY (the dashboards' index)."""
    grouped = (
        scope.canvasses()
        .filter(COUNTED, campaign__in=campaigns)
        .order_by()
        .values("campaign_id")
        .annotate(**_aggregates())
    )
    return {row["campaign_id"]: Figures.from_row(row) for row in grouped}
