"""The caller's own account: /api/v1/me…"""

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Field, Path, Router, Schema, Status

from campagne.accounts import actions
from campagne.accounts.api_auth import session_auth
from campagne.accounts.models import ApiToken
from campagne.accounts.scopes import scope_for
from campagne.lib.api_errors import errors

router = Router(tags=["me"])


class TerritoryOut(Schema):
    level: str = Field(description="region, departement or commune")
    code: str
    name: str


class MeOut(Schema):
    email: str
    first_name: str
    last_name: str
    role: str
    territories: list[TerritoryOut]
    can_write_people: bool
    can_export_people: bool
    can_erase_people: bool


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(Schema):
    id: int
    name: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself, shown this once only.")


@router.get("", response={200: MeOut}, summary="The calling account")
def me(request: HttpRequest) -> dict:
    user = request.user
    scope = scope_for(user)
    territories = [
        {"level": level, "code": item.code, "name": item.name}
        for level, items in (
            ("region", user.regions.order_by("code")),  # type: ignore[union-attr]
            ("departement", user.departements.order_by("code")),  # type: ignore[union-attr]
            ("commune", user.communes.order_by("code")),  # type: ignore[union-attr]
        )
        for item in items
    ]
    return {
        "email": user.email,  # type: ignore[union-attr]
        "first_name": user.first_name,  # type: ignore[union-attr]
        "last_name": user.last_name,  # type: ignore[union-attr]
        "role": user.role,  # type: ignore[union-attr]
        "territories": territories,
        "can_write_people": scope.can_write_people,
        "can_export_people": scope.can_export_people,
        "can_erase_people": scope.can_erase_people,
    }


@router.get("/tokens", response={200: list[TokenOut]}, summary="My API tokens")
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    return list(ApiToken.objects.active().filter(user=request.user))


@router.post(
    "/tokens",
    auth=session_auth,
    response={201: NewTokenOut, **errors(403)},
    summary="Create an API token (logged-in session only)",
)
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict]:
    # Session only: a leaked token must not be able to mint itself successors.
    token, raw = actions.create_api_token(user=request.user, name=payload.name)  # type: ignore[arg-type]
    return Status(
        201,
        {
            "id": token.pk,
            "name": token.name,
            "hint": token.hint,
            "created_at": token.created_at,
            "last_used_at": token.last_used_at,
            "token": raw,
        },
    )


@router.delete(
    "/tokens/{token_id}",
    response={204: None, **errors(403, 404)},
    summary="Revoke one of my API tokens",
)
def revoke_token(
    request: HttpRequest, token_id: int = Path(..., ge=1, le=2**63 - 1)
) -> Status[None]:
    if not actions.revoke_api_token(user=request.user, token_id=token_id):  # type: ignore[arg-type]
        raise Http404
    return Status(204, None)
