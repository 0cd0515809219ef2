"""What a segment selects: its definition, validated, and its criteria as SQL conditions.

A definition is plain JSON (stored on ``Segment.definition``, sent and received by the API),
validated by the ``Definition`` schema below. Its criteria combine with AND; the segments
it includes are OR'd in, the segments it excludes are subtracted (``segments.models``).

Every criterion becomes a condition on the person row or an ``EXISTS`` subquery (tags,
consents): never a join that multiplies rows, so counting needs no DISTINCT and stays as
fast as the hand-written SQL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import and_
from typing import Annotated, Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, model_validator

from campagne.accounts.scopes import Territories
from campagne.people.models import Channel, Consent, Person, Status, Tag

# Bounds that keep a definition (and the SQL it becomes) a sensible size.
MAX_ITEMS = 200
MAX_COMMUNES = 2000


def _unique(values: list[Any]) -> list[Any]:
    """The same list without repeats, in the order given."""
    return list(dict.fromkeys(values))


def _upper(value: str) -> str:
    # Corsica: "2a" and "2A" are the same département.
    return value.upper()


class _Part(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


TagName = Annotated[str, Field(min_length=1, max_length=60)]
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{2}$")]
DepartementCode = Annotated[
    str, AfterValidator(_upper), Field(pattern=r"^([0-9]{2}|2[ABab]|97[0-9])$")
]
CommuneCode = Annotated[str, AfterValidator(_upper), Field(pattern=r"^[0-9][0-9ABab][0-9]{3}$")]
SegmentId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class TagCriteria(_Part):
    any: Annotated[list[TagName], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Has at least one of these tags."
    )
    all: Annotated[list[TagName], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Has every one of these tags."
    )
    none: Annotated[list[TagName], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Has none of these tags."
    )


class TerritoryCriteria(_Part):
    """Lives in one of these territories (any level; a commune covers its arrondissements)."""

    regions: Annotated[list[RegionCode], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="INSEE codes of régions."
    )
    departements: Annotated[list[DepartementCode], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Codes of départements."
    )
    communes: Annotated[list[CommuneCode], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_COMMUNES, description="INSEE codes of communes."
    )

    def as_territories(self) -> Territories:
        return Territories(
            regions=frozenset(self.regions),
            departements=frozenset(self.departements),
            communes=frozenset(self.communes),
        )


class OriginCriteria(_Part):
    contains: str = Field("", max_length=200, description="Origin contains this text (any case).")
    equals: str = Field("", max_length=200, description="Origin is exactly this text.")


class DateRange(_Part):
    """``after``: on that day or later; ``before``: strictly before that day (Paris time)."""

    after: date | None = None
    before: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.after and self.before and self.after >= self.before:
            raise ValueError("'after' must be earlier than 'before'.")
        return self


class YearRange(_Part):
    """Birth year between ``min`` and ``max``, both included."""

    min: int | None = Field(None, ge=1900, le=2100)
    max: int | None = Field(None, ge=1900, le=2100)

    @model_validator(mode="after")
    def _ordered(self) -> YearRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' must not be greater than 'max'.")
        return self


class Definition(_Part):
    """Who a segment selects. Every field is optional; an empty definition selects everyone."""

    status: Annotated[list[Status], AfterValidator(_unique)] = Field(
        default_factory=list, description="Any of these statuses."
    )
    tags: TagCriteria = Field(default_factory=TagCriteria)
    territory: TerritoryCriteria = Field(default_factory=TerritoryCriteria)
    consents: Annotated[list[Channel], AfterValidator(_unique)] = Field(
        default_factory=list, description="Consent granted on every one of these channels."
    )
    origin: OriginCriteria = Field(default_factory=OriginCriteria)
    created: DateRange = Field(default_factory=DateRange)
    last_contact: DateRange = Field(default_factory=DateRange)
    has_email: bool | None = Field(None, description="true: has an e-mail; false: has none.")
    has_phone: bool | None = Field(None, description="true: has a phone; false: has none.")
    birth_year: YearRange = Field(default_factory=YearRange)
    engaged_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="Clicked a mailing's link, or opened one (machine opens aside), "
        "in the last N days.",
    )
    include_segments: Annotated[list[SegmentId], AfterValidator(_unique)] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Ids of segments whose members are added (OR).",
    )
    exclude_segments: Annotated[list[SegmentId], AfterValidator(_unique)] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Ids of segments whose members are removed.",
    )

    @model_validator(mode="after")
    def _no_segment_both_ways(self) -> Definition:
        if set(self.include_segments) & set(self.exclude_segments):
            raise ValueError("A segment cannot be both included and excluded.")
        return self

    def to_json(self) -> dict[str, Any]:
        """The compact JSON stored and returned: only what differs from the defaults."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @property
    def referenced_ids(self) -> list[int]:
        return [*self.include_segments, *self.exclude_segments]

    def criteria_q(self) -> Q | None:
        """The AND of this definition's own criteria, or None when it has none."""
        conditions = [
            *self._status_and_tags(),
            *self._territory_and_consents(),
            *self._origin_and_dates(),
            *self._channels_and_age(),
            *self._engagement(),
        ]
        return reduce(and_, conditions) if conditions else None

    # --- criteria, one group at a time --------------------------------------------------
    def _status_and_tags(self) -> list[Q]:
        conditions = []
        if self.status:
            conditions.append(Q(status__in=[status.value for status in self.status]))
        if self.tags.any:
            conditions.append(Q(_tagged(self.tags.any)))
        # "All of": one EXISTS per tag, each an index lookup on (person, tag).
        conditions.extend(Q(_tagged([name])) for name in self.tags.all)
        if self.tags.none:
            conditions.append(Q(~_tagged(self.tags.none)))
        return conditions

    def _territory_and_consents(self) -> list[Q]:
        conditions = []
        territories = self.territory.as_territories()
        if territories:
            # The same rule as the organizers' scopes (arrondissements of Paris, Lyon,
            # Marseille included), so "département 13" means the same thing everywhere.
            conditions.append(territories.q("commune"))
        conditions.extend(
            Q(
                Exists(
                    Consent.objects.filter(
                        person_id=OuterRef("pk"), channel=channel.value, granted=True
                    )
                )
            )
            for channel in self.consents
        )
        return conditions

    def _origin_and_dates(self) -> list[Q]:
        conditions = []
        if self.origin.contains:
            conditions.append(Q(origin__icontains=self.origin.contains))
        if self.origin.equals:
            conditions.append(Q(origin=self.origin.equals))
        for field, dates in (("created_at", self.created), ("last_contact_at", self.last_contact)):
            if dates.after:
                conditions.append(Q(**{f"{field}__gte": start_of_day(dates.after)}))
            if dates.before:
                conditions.append(Q(**{f"{field}__lt": start_of_day(dates.before)}))
        return conditions

    def _channels_and_age(self) -> list[Q]:
        conditions = []
        for field, wanted in (("email", self.has_email), ("phone", self.has_phone)):
            if wanted is True:
                conditions.append(~Q(**{field: ""}))
            elif wanted is False:
                conditions.append(Q(**{field: ""}))
        if self.birth_year.min is not None:
            conditions.append(Q(birth_year__gte=self.birth_year.min))
        if self.birth_year.max is not None:
            conditions.append(Q(birth_year__lte=self.birth_year.max))
        return conditions

    def _engagement(self) -> list[Q]:
        if self.engaged_days is None:
            return []
        # Imported here: the tracking app reads mailings, which read segments.
        from campagne.tracking.models import Engagement

        since = timezone.now() - timedelta(days=self.engaged_days)
        recent = Q(last_click_at__gte=since) | Q(last_human_open_at__gte=since)
        return [Q(Exists(Engagement.objects.filter(recent, person_id=OuterRef("pk"))))]


def start_of_day(day: date) -> datetime:
    """Midnight of ``day`` in the campaign's time zone: dates are read as the users see them."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _tagged(names: list[str]) -> Exists:
    """EXISTS a row of the person–tag table for one of ``names``.

    The tag ids come from an uncorrelated subquery (run once) rather than a join to the
    tag table: each person then costs one probe of the (person, tag) unique index.
    """
    through = Person.tags.through
    tag_ids = Tag.objects.filter(name__in=names).values("pk")
    return Exists(through.objects.filter(person_id=OuterRef("pk"), tag_id__in=tag_ids))
