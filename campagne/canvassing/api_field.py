"""Recording doors through the API: /api/v1/canvassing/…

- ``POST record_canvass``: one door, OSDI-shaped (``canvass`` with ``action_date``,
  ``contact_type``, ``success``, ``status_code`` = our outcome; ``add_answers``), plus our
  identifiers (session, address, the client's uuid). 201 stored, 200 already stored.
- ``POST canvasses/batch``: what the field app sends when it syncs its queue, up to 500
  doors in one request (one throttle hit, one transaction); one status per record.
- ``POST reports``: a volunteer's report after a session.

Both accept a personal token or the session (with its CSRF token). The rules are in
``campagne.canvassing.recording``; this module only maps JSON onto its records.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Status
from pydantic import AfterValidator, BaseModel, ConfigDict

from campagne.accounts.scopes import scope_for
from campagne.canvassing import recording
from campagne.canvassing.models import Outcome
from campagne.lib.api_errors import errors

router = Router(tags=["canvassing"])

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; refuse it here rather than fail on saving.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class _In(BaseModel):
    """Plain pydantic models rather than ninja's Schema: a Schema reads each field of
    its input through a Python-level getter (made for Django objects), which was a
    tenth of a 20-door batch; these endpoints only ever get JSON."""

    model_config = ConfigDict(str_strip_whitespace=True)


class ContactIn(_In):
    first_name: Text = Field("", max_length=100)
    last_name: Text = Field("", max_length=100)
    email: Text = Field("", max_length=254)
    phone: Text = Field("", max_length=30)
    consent_text: Text = Field(
        "", max_length=1000, description="The consent sentence read to the person (proof)."
    )


class _DoorFields(_In):
    """Our identifiers and answers, shared by both endpoints."""

    session_id: Id | None = Field(None, description="The session walked (or give turf_id).")
    turf_id: Id | None = None
    address_id: Id | None = Field(None, description="The address: one of the turf's stops.")
    door: Text = Field("", max_length=60, description="Flat or door in a building.")
    opinion_consent: bool = Field(
        False, description="The person agreed that their opinion be recorded (RGPD art. 9)."
    )
    support: int | None = Field(None, ge=1, le=5)
    issues: list[Annotated[Text, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    wants_to_volunteer: bool = False
    wants_contact: bool = False
    contact: ContactIn | None = None
    notes: Text = Field("", max_length=2000)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    accuracy_metres: float | None = Field(None, ge=0)


class DoorIn(_DoorFields):
    client_uuid: uuid.UUID = Field(description="Made on the phone; the same uuid is stored once.")
    outcome: Outcome
    recorded_at: datetime
    answers: dict[str, Any] = Field(default_factory=dict)


class BatchIn(BaseModel):
    records: list[DoorIn] = Field(min_length=1, max_length=recording.MAX_BATCH)


class DoorResultOut(BaseModel):
    client_uuid: uuid.UUID
    status: str = Field(description="stored, duplicate (already stored) or rejected.")
    id: int | None = None
    error: str = ""
    opinions_dropped: bool = False


class BatchOut(BaseModel):
    stored: int
    duplicates: int
    rejected: int
    results: list[DoorResultOut]


class OsdiCanvass(_In):
    action_date: datetime = Field(description="When the door was knocked.")
    contact_type: str = Field("in-person", max_length=30)
    success: bool | None = Field(None, description="Somebody answered (informational).")
    status_code: Outcome = Field(description="What happened at the door.")
    identifiers: list[Text] = Field(default_factory=list, max_length=10)


class OsdiAnswer(_In):
    question: Text = Field(max_length=100, description="A key of the campaign's questionnaire.")
    responses: list[Annotated[Text, Field(max_length=500)]] = Field(max_length=20)


class RecordCanvassIn(_DoorFields):
    canvass: OsdiCanvass
    add_answers: list[OsdiAnswer] = Field(default_factory=list, max_length=50)
    client_uuid: uuid.UUID | None = Field(
        None, description="Or an identifier 'campagne:<uuid>' in canvass.identifiers."
    )


class RecordCanvassOut(DoorResultOut):
    identifiers: list[str]


class ReportIn(_In):
    session_id: Id
    client_uuid: uuid.UUID | None = None
    heard: Text = Field("", max_length=4000)
    problems: Text = Field("", max_length=4000)
    material: Text = Field("", max_length=2000)


class SessionReportOut(BaseModel):
    id: int
    session_id: int
    created: bool


def _record(payload: _DoorFields, **extra: Any) -> recording.DoorRecord:
    data = payload.model_dump(exclude={"canvass", "add_answers"})
    contact = data.pop("contact")
    data.update(extra)
    return recording.DoorRecord(**data, contact=recording.Contact(**contact) if contact else None)


def _uuid_of(payload: RecordCanvassIn) -> uuid.UUID:
    if payload.client_uuid is not None:
        return payload.client_uuid
    for identifier in payload.canvass.identifiers:
        prefix, _sep, value = identifier.partition(":")
        if prefix == "campagne":
            try:
                return uuid.UUID(value)
            except ValueError:
                break
    # No identifier of ours: a one-off record (re-sending it would store it again).
    return uuid.uuid4()


@router.post(
    "/record_canvass",
    response={201: RecordCanvassOut, 200: RecordCanvassOut, **errors(403, 404, 422)},
    summary="Record one door (OSDI record_canvass)",
)
def record_canvass(request: HttpRequest, payload: RecordCanvassIn) -> Status[dict[str, Any]]:
    record = _record(
        payload,
        client_uuid=_uuid_of(payload),
        outcome=payload.canvass.status_code,
        recorded_at=payload.canvass.action_date,
        answers={answer.question: answer.responses for answer in payload.add_answers},
    )
    [result] = recording.record_canvasses(scope=scope_for(request.user), records=[record])
    body = {**vars(result), "identifiers": [f"campagne:{result.client_uuid}"]}
    if result.status == recording.REJECTED:
        return Status(422, {"detail": {"__all__": [result.error]}})
    return Status(201 if result.status == recording.STORED else 200, body)


@router.post(
    "/canvasses/batch",
    response={200: BatchOut, **errors(403, 404)},
    summary="Record a batch of doors (the field app's sync)",
)
def record_batch(request: HttpRequest, payload: BatchIn) -> dict[str, Any]:
    records = [_record(item) for item in payload.records]
    results = recording.record_canvasses(scope=scope_for(request.user), records=records)
    count = {status: 0 for status in (recording.STORED, recording.DUPLICATE, recording.REJECTED)}
    for result in results:
        count[result.status] += 1
    return {
        "stored": count[recording.STORED],
        "duplicates": count[recording.DUPLICATE],
        "rejected": count[recording.REJECTED],
        "results": [vars(result) for result in results],
    }


@router.post(
    "/reports",
    response={201: SessionReportOut, 200: SessionReportOut, **errors(403, 404, 422)},
    summary="Send a session report",
)
def send_report(request: HttpRequest, payload: ReportIn) -> Status[dict[str, Any]]:
    report, created = recording.send_report(scope=scope_for(request.user), **payload.model_dump())
    body = {"id": report.pk, "session_id": report.session_id, "created": created}
    return Status(201 if created else 200, body)
