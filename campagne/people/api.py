"""People endpoints: /api/v1/people…

Thin like the pages: every person is loaded through the caller's scope (404 outside it,
403 for a read-only role on writes) and every write goes through ``people.actions``.
This module only turns JSON into the actions' arguments: an e-mail checked, a phone in
E.164, an INSEE code into its commune.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import AfterValidator, ConfigDict

from campagne.accounts.scopes import scope_for
from campagne.lib.api_errors import errors
from campagne.people import actions, exports, validation
from campagne.people.filters import PeopleFilters
from campagne.people.models import Channel, Civility, Person
from campagne.people.models import Status as PersonStatus
from campagne.territory.models import Commune

router = Router(tags=["people"])

MAX_LIMIT = 500
# The largest id a database key holds: larger ones are refused as input (422) rather
# than overflowing the query.
MAX_ID = 2**63 - 1


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; refuse it here rather than fail on saving.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
PersonId = Annotated[int, Path(ge=1, le=MAX_ID)]


class _In(Schema):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


# --- output ---------------------------------------------------------------------------------
class PersonOut(Schema):
    id: int
    civility: Civility
    first_name: str
    last_name: str
    email: str
    phone: str = Field(description="E.164, e.g. +33612345678; empty when unknown.")
    postal_code: str
    commune: str | None = Field(description="INSEE code of the commune.")
    status: PersonStatus
    birth_year: int | None
    origin: str
    tags: list[str]

    @staticmethod
    def resolve_commune(obj: Person) -> str | None:
        return obj.commune_id

    @staticmethod
    def resolve_tags(obj: Person) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())


class PersonPage(Schema):
    items: list[PersonOut]
    count: int = Field(description="How many people match, all pages together.")


class ConsentOut(Schema):
    channel: Channel
    granted: bool
    at: datetime
    source: str
    proof: str


class PersonDetail(PersonOut):
    address_line: str
    address_extra: str
    commune_name: str | None
    departement: str | None = Field(description="Code of the commune's département.")
    other_emails: list[str]
    other_phones: list[str]
    consents: list[ConsentOut]
    created_at: datetime
    updated_at: datetime
    last_contact_at: datetime | None

    @staticmethod
    def resolve_commune_name(obj: Person) -> str | None:
        return obj.commune.name if obj.commune else None

    @staticmethod
    def resolve_departement(obj: Person) -> str | None:
        return obj.commune.departement_id if obj.commune else None

    @staticmethod
    def resolve_other_emails(obj: Person) -> list[str]:
        return sorted(item.address for item in obj.other_emails.all())

    @staticmethod
    def resolve_other_phones(obj: Person) -> list[str]:
        return sorted(item.number for item in obj.other_phones.all())

    @staticmethod
    def resolve_consents(obj: Person) -> list[Any]:
        return sorted(obj.consents.all(), key=lambda consent: consent.channel)


class TagsOut(Schema):
    tags: list[str]


# --- input ----------------------------------------------------------------------------------
class PersonIn(_In):
    civility: Civility = Civility.NONE
    first_name: Text = Field("", max_length=100)
    last_name: Text = Field("", max_length=100)
    email: Text = Field("", max_length=254)
    phone: Text = Field("", max_length=40, description="Any usual form; stored in E.164.")
    address_line: Text = Field("", max_length=200)
    address_extra: Text = Field("", max_length=200)
    postal_code: str = Field("", pattern=r"^([0-9]{5})?$")
    commune: str | None = Field(None, description="INSEE code of the commune.")
    birth_year: int | None = Field(None, ge=1900, le=2100)
    status: PersonStatus = PersonStatus.CONTACT
    origin: Text = Field(
        min_length=1,
        max_length=200,
        description="Where and how the data was collected (CNIL), e.g. « salon du 12 mars ».",
    )
    tags: list[Annotated[Text, Field(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=50
    )


class PersonPatch(_In):
    """Only the fields sent change. ``null`` empties a field; status and origin can't be."""

    civility: Civility | None = None
    first_name: Text | None = Field(None, max_length=100)
    last_name: Text | None = Field(None, max_length=100)
    email: Text | None = Field(None, max_length=254)
    phone: Text | None = Field(None, max_length=40)
    address_line: Text | None = Field(None, max_length=200)
    address_extra: Text | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, pattern=r"^([0-9]{5})?$")
    commune: str | None = Field(None, description="INSEE code of the commune.")
    birth_year: int | None = Field(None, ge=1900, le=2100)
    status: PersonStatus | None = None
    origin: Text | None = Field(None, min_length=1, max_length=200)


class TagIn(_In):
    name: Text = Field(min_length=1, max_length=60)


class ConsentIn(_In):
    granted: bool
    source: Text = Field(min_length=1, max_length=200, description="Where it was given.")
    proof: Text = Field("", max_length=5000, description="The proof: form text, message…")


class PeopleQuery(Schema):
    """The filters of the people list page, as query parameters."""

    q: Text = Field("", max_length=200, description="Name, e-mail or phone (prefix).")
    status: PersonStatus | None = None
    tag: Text = Field("", max_length=60)
    commune: Text = Field("", max_length=5, description="INSEE code.")
    departement: Text = Field("", max_length=3, description="Département code.")
    consent: list[Channel] = Field(
        default_factory=list, description="Channels the person has consented to (all)."
    )

    def filters(self) -> PeopleFilters:
        return PeopleFilters(
            q=self.q,
            status=self.status.value if self.status else "",
            tag=self.tag,
            departement=self.departement,
            commune=self.commune,
            consents=tuple(channel.value for channel in self.consent),
        )


# --- turning input into the actions' arguments ----------------------------------------------
def _clean_fields(data: dict[str, Any], person: Person | None = None) -> dict[str, Any]:
    """Check and normalise e-mail, phone, birth year and commune, as the person form does.

    ``None`` empties a text field. An e-mail or phone already on file (perhaps imported
    before these checks) is kept as it is, so that editing another field is not blocked.
    """
    errors_by_field: dict[str, list[str]] = {}
    for name in ("status", "origin"):
        if name in data and data[name] is None:
            errors_by_field[name] = [_("Ce champ ne peut pas être vide.")]
    for name, value in list(data.items()):
        if value is None and name not in ("commune", "birth_year", "status", "origin"):
            data[name] = ""
    checks = (
        ("email", lambda v: validation.clean_email(v, on_file=person.email if person else "")),
        ("phone", lambda v: validation.clean_phone(v, on_file=person.phone if person else "")),
        ("birth_year", validation.check_birth_year),
    )
    for name, check in checks:
        if data.get(name) not in (None, ""):
            try:
                data[name] = check(data[name])
            except ValidationError as error:
                errors_by_field[name] = error.messages
    if data.get("commune"):
        data["commune"] = Commune.objects.filter(pk=data["commune"]).first()
        if data["commune"] is None:
            errors_by_field["commune"] = [_("Code INSEE de commune inconnu.")]
    elif "commune" in data:
        data["commune"] = None
    if person is None:
        try:
            validation.require_identifier(data)
        except ValidationError as error:
            errors_by_field["__all__"] = error.messages
    if errors_by_field:
        raise ValidationError(errors_by_field)
    return data


def _detail(pk: int) -> Person:
    return (
        Person.objects.select_related("commune")
        .prefetch_related("tags", "consents", "other_emails", "other_phones")
        .get(pk=pk)
    )


# --- endpoints ------------------------------------------------------------------------------
@router.get("", response={200: PersonPage}, summary="List people")
def list_people(
    request: HttpRequest,
    query: Query[PeopleQuery],
    limit: int = Query(50, ge=1, description=f"Page size, at most {MAX_LIMIT}."),
    offset: int = Query(0, ge=0, le=10**9),
) -> dict:
    people = query.filters().people(scope_for(request.user))
    limit = min(limit, MAX_LIMIT)
    page = list(people.prefetch_related("tags")[offset : offset + limit])
    return {"items": page, "count": people.count()}


@router.get(
    "/export",
    response=errors(403),
    summary="Download the filtered list as CSV or XLSX; recorded in the audit log",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, as an attachment.",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    exports.XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)
def export_people(
    request: HttpRequest,
    query: Query[PeopleQuery],
    fmt: Literal["csv", "xlsx"] = Query("csv", alias="format"),
) -> HttpResponseBase:
    # Declared before "/{person_id}", which would otherwise take "export" for an id.
    return exports.export_people(scope=scope_for(request.user), filters=query.filters(), fmt=fmt)


@router.post(
    "",
    response={201: PersonDetail, **errors(403)},
    summary="Create a person",
)
def create_person(request: HttpRequest, payload: PersonIn) -> Status[Person]:
    fields = _clean_fields(payload.model_dump())
    tags = fields.pop("tags")
    person = actions.create_person(scope=scope_for(request.user), tags=tags, **fields)
    return Status(201, _detail(person.pk))


@router.get(
    "/{person_id}",
    response={200: PersonDetail, **errors(404)},
    summary="One person, with addresses and consents",
)
def get_person(request: HttpRequest, person_id: PersonId) -> Person:
    person = scope_for(request.user).person(person_id)
    return _detail(person.pk)


@router.patch(
    "/{person_id}",
    response={200: PersonDetail, **errors(403, 404)},
    summary="Change some fields of a person",
)
def update_person(request: HttpRequest, person_id: PersonId, payload: PersonPatch) -> Person:
    scope = scope_for(request.user)
    person = scope.person_for_write(person_id)
    changes = _clean_fields(payload.model_dump(exclude_unset=True), person)
    actions.update_person(scope=scope, person=person, **changes)
    return _detail(person.pk)


@router.delete(
    "/{person_id}",
    response={204: None, **errors(403, 404)},
    summary="Erase a person for good (RGPD art. 17; HQ admin only)",
)
def erase_person(request: HttpRequest, person_id: PersonId) -> Status[None]:
    scope = scope_for(request.user)
    actions.erase_person(scope=scope, person=scope.person(person_id))
    return Status(204, None)


@router.post(
    "/{person_id}/tags",
    response={200: TagsOut, **errors(403, 404)},
    summary="Tag a person",
)
def add_tag(request: HttpRequest, person_id: PersonId, payload: TagIn) -> dict:
    scope = scope_for(request.user)
    person = scope.person_for_write(person_id)
    actions.add_tag(scope=scope, person=person, name=payload.name)
    return {"tags": sorted(person.tags.values_list("name", flat=True))}


@router.delete(
    "/{person_id}/tags/{path:name}",
    response={204: None, **errors(403, 404)},
    summary="Remove a tag from a person (404 if they did not have it)",
)
def remove_tag(request: HttpRequest, person_id: PersonId, name: str) -> Status[None]:
    scope = scope_for(request.user)
    person = scope.person_for_write(person_id)
    if not actions.remove_tag(scope=scope, person=person, name=name):
        return Status(404, {"detail": _("Cette personne n'a pas cette étiquette.")})  # type: ignore[return-value]
    return Status(204, None)


@router.put(
    "/{person_id}/consents/{channel}",
    response={200: ConsentOut, **errors(403, 404)},
    summary="Record a consent given or withdrawn on one channel",
)
def set_consent(
    request: HttpRequest, person_id: PersonId, channel: Channel, payload: ConsentIn
) -> Any:
    scope = scope_for(request.user)
    person = scope.person_for_write(person_id)
    return actions.set_consent(
        scope=scope,
        person=person,
        channel=channel.value,
        granted=payload.granted,
        source=payload.source,
        proof=payload.proof,
    )


@router.get(
    "/{person_id}/export",
    response={200: dict[str, Any], **errors(403, 404)},
    summary="Everything held on a person (RGPD art. 15); recorded in the audit log",
)
def export_person(request: HttpRequest, person_id: PersonId) -> dict[str, Any]:
    scope = scope_for(request.user)
    return actions.export_person_data(scope=scope, person=scope.person(person_id))
