"""Segment endpoints: /api/v1/segments…

The same rules as the pages: HQ sees every segment and an organizer the ones they own
(404 for the others); HQ staff may read and count but not write (403); members are always
counted and listed within the caller's scope. Writes go through ``segments.actions``.
"""

from datetime import datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import AfterValidator, ConfigDict

from campagne.accounts.scopes import Scope, scope_for
from campagne.lib.api_errors import AUTH_ERRORS, errors
from campagne.people.api import MAX_LIMIT, PersonPage
from campagne.segments import actions
from campagne.segments.definition import Definition
from campagne.segments.models import (
    Segment,
    can_read_segments,
    members,
    segment_for,
    segment_for_write,
)

router = Router(tags=["segments"])

SegmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; refuse it here rather than fail on saving.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    owner: str | None = Field(description="E-mail of the account that created it.")
    definition: Definition
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: Segment) -> str | None:
        return obj.owner.email if obj.owner else None

    @staticmethod
    def resolve_definition(obj: Segment) -> Definition:
        return obj.criteria


class SegmentPage(Schema):
    items: list[SegmentOut]
    count: int


class SegmentIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=1, max_length=actions.NAME_MAX)
    description: Text = Field("", max_length=actions.DESCRIPTION_MAX)
    definition: Definition = Field(default_factory=Definition)


class SegmentPatch(Schema):
    """Only the fields sent change; a definition sent replaces the whole definition."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text | None = Field(None, min_length=1, max_length=actions.NAME_MAX)
    description: Text | None = Field(None, max_length=actions.DESCRIPTION_MAX)
    definition: Definition | None = None


class CountOut(Schema):
    count: int = Field(description="Members within the caller's scope.")


def _reader(request: HttpRequest) -> Scope:
    scope = scope_for(request.user)
    scope.require(can_read_segments(scope))
    return scope


@router.get(
    "", response={200: SegmentPage, **AUTH_ERRORS, **errors(403, 422)}, summary="List segments"
)
def list_segments(
    request: HttpRequest,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=10**9),
) -> dict:
    segments = Segment.objects.visible_to(_reader(request)).select_related("owner")
    return {"items": list(segments[offset : offset + limit]), "count": segments.count()}


@router.post(
    "", response={201: SegmentOut, **AUTH_ERRORS, **errors(403, 422)}, summary="Create a segment"
)
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[Segment]:
    segment = actions.create_segment(
        scope=scope_for(request.user),
        name=payload.name,
        description=payload.description,
        definition=payload.definition,
    )
    return Status(201, segment)


@router.post(
    "/count",
    response={200: CountOut, **AUTH_ERRORS, **errors(403, 422)},
    summary="Count the members of a definition not saved yet (live counters)",
)
def count_definition(request: HttpRequest, payload: Definition) -> dict:
    scope = _reader(request)
    definition = actions.check_definition(scope=scope, definition=payload)
    return {"count": members(definition, scope).count()}


@router.get(
    "/{segment_id}",
    response={200: SegmentOut, **AUTH_ERRORS, **errors(404, 422)},
    summary="One segment",
)
def get_segment(request: HttpRequest, segment_id: SegmentId) -> Segment:
    return segment_for(scope_for(request.user), segment_id)


@router.patch(
    "/{segment_id}",
    response={200: SegmentOut, **AUTH_ERRORS, **errors(403, 404, 422)},
    summary="Change a segment's name, description or definition",
)
def update_segment(request: HttpRequest, segment_id: SegmentId, payload: SegmentPatch) -> Segment:
    scope = scope_for(request.user)
    segment = segment_for_write(scope, segment_id)
    sent = payload.model_fields_set
    if refused := sorted(
        field
        for field in ("name", "definition")
        if field in sent and getattr(payload, field) is None
    ):
        raise ValidationError({field: [_("Ce champ ne peut pas être vide.")] for field in refused})
    return actions.update_segment(
        scope=scope,
        segment=segment,
        name=payload.name if "name" in sent else None,
        description=(payload.description or "") if "description" in sent else None,
        definition=payload.definition if "definition" in sent else None,
    )


@router.delete(
    "/{segment_id}",
    response={204: None, **AUTH_ERRORS, **errors(403, 404, 422)},
    summary="Delete a segment (422 while another segment includes or excludes it)",
)
def delete_segment(request: HttpRequest, segment_id: SegmentId) -> Status[None]:
    scope = scope_for(request.user)
    actions.delete_segment(scope=scope, segment=segment_for_write(scope, segment_id))
    return Status(204, None)


@router.get(
    "/{segment_id}/count",
    response={200: CountOut, **AUTH_ERRORS, **errors(404, 422)},
    summary="How many members, within the caller's scope",
)
def count_segment(request: HttpRequest, segment_id: SegmentId) -> dict:
    scope = scope_for(request.user)
    return {"count": segment_for(scope, segment_id).count(scope)}


@router.get(
    "/{segment_id}/members",
    response={200: PersonPage, **AUTH_ERRORS, **errors(404, 422)},
    summary="The members, within the caller's scope, as /people lists them (by name)",
)
def segment_members(
    request: HttpRequest,
    segment_id: SegmentId,
    limit: int = Query(50, ge=1, description=f"Page size, at most {MAX_LIMIT}."),
    offset: int = Query(0, ge=0, le=10**9),
) -> dict:
    scope = scope_for(request.user)
    people = segment_for(scope, segment_id).members(scope)
    limit = min(limit, MAX_LIMIT)
    page = list(people.select_related("commune").prefetch_related("tags")[offset : offset + limit])
    return {"items": page, "count": people.count()}
