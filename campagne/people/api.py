"""People endpoints: /api/v1/people…"""

from django.http import HttpRequest
from ninja import Router, Schema

from campagne.accounts.scopes import scope_for

router = Router(tags=["people"])


class PersonOut(Schema):
    id: int
    civility: str
    first_name: str
    last_name: str
    email: str
    phone: str
    postal_code: str
    commune: str | None
    status: str
    birth_year: int | None
    origin: str
    tags: list[str]

    @staticmethod
    def resolve_commune(obj: object) -> str | None:
        return getattr(obj, "commune_id", None)

    @staticmethod
    def resolve_tags(obj: object) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())  # type: ignore[attr-defined]


class PersonPage(Schema):
    items: list[PersonOut]
    count: int


@router.get("", response=PersonPage)
def list_people(request: HttpRequest, limit: int = 50, offset: int = 0, q: str = "") -> dict:
    scope = scope_for(request.user)
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    people = scope.people().search(q).order_by("search_name", "id")
    page = list(people.prefetch_related("tags")[offset : offset + limit])
    return {"items": page, "count": people.count()}
