"""Territory endpoints: /api/v1/territory/… — the public COG, for forms' autocompletes.

Communes are public data, but the endpoint answers authenticated callers only, like the
rest of the API: it serves the people forms, not the world.
"""

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import AfterValidator

from campagne.lib.api_errors import AUTH_ERRORS, errors
from campagne.territory.models import Commune

router = Router(tags=["territory"])

MAX_LIMIT = 50


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text, even in a LIKE: refuse it as bad input instead.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class CommuneOut(Schema):
    code: str = Field(description="INSEE code.")
    name: str
    departement: str = Field(description="Code of the département.")
    parent: str | None = Field(
        description="For a Paris, Lyon or Marseille arrondissement, the city's INSEE code."
    )
    postal_codes: list[str]
    population: int | None = Field(description="Population municipale (INSEE).")
    latitude: float | None
    longitude: float | None

    @staticmethod
    def resolve_departement(obj: Commune) -> str:
        return obj.departement_id

    @staticmethod
    def resolve_parent(obj: Commune) -> str | None:
        return obj.parent_id

    @staticmethod
    def resolve_postal_codes(obj: Commune) -> list[str]:
        return [postal_code.code for postal_code in obj.postal_codes.all()]


class CommunePage(Schema):
    items: list[CommuneOut]


class CommuneQuery(Schema):
    q: Text = Field(
        "",
        max_length=100,
        description="Start of a name (or of a word of it), an INSEE code or a postcode.",
    )
    postcode: Text = Field(
        "", max_length=10, description="A full postcode: only the communes it serves."
    )


@router.get(
    "/communes",
    response={200: CommunePage, **AUTH_ERRORS, **errors(422)},
    summary="Communes matching a name, code or postcode (autocomplete)",
)
def list_communes(
    request: HttpRequest,
    query: Query[CommuneQuery],
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
) -> dict:
    communes = Commune.objects.autocomplete(query.q, postcode=query.postcode)
    return {"items": list(communes[:limit])}
