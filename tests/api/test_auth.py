"""Who may call the API, and how: personal tokens, the session (with CSRF), nobody else."""

import json

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from campagne.accounts import actions as account_actions
from campagne.accounts.models import ApiToken
from campagne.people.models import Person
from tests.api.conftest import Api

ENDPOINTS = [
    ("get", "/me"),
    ("get", "/me/tokens"),
    ("post", "/me/tokens"),
    ("delete", "/me/tokens/1"),
    ("get", "/people"),
    ("post", "/people"),
    ("get", "/people/export"),
    ("get", "/people/{id}"),
    ("patch", "/people/{id}"),
    ("delete", "/people/{id}"),
    ("post", "/people/{id}/tags"),
    ("delete", "/people/{id}/tags/Jeunes"),
    ("put", "/people/{id}/consents/email"),
    ("get", "/people/{id}/export"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_gets_401_everywhere(person_digne, method, path):
    # With CSRF enforced, as in a real browser: a visitor with no session gets 401, not a
    # CSRF failure.
    anonymous = Api(None, client=Client(enforce_csrf_checks=True))
    response = getattr(anonymous, method)(path.format(id=person_digne.pk))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentification requise."}


def test_bearer_token_authenticates(organizer_04):
    token, raw = ApiToken.issue(user=organizer_04, name="script")
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert response.json()["email"] == "orga04@test.campagne"
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("how", ["revoked", "inactive-user", "garbage", "basic"])
def test_unusable_credentials_are_refused(organizer_04, how):
    token, raw = ApiToken.issue(user=organizer_04, name="script")
    header = f"Bearer {raw}"
    if how == "revoked":
        account_actions.revoke_api_token(user=organizer_04, token_id=token.pk)
    elif how == "inactive-user":
        organizer_04.is_active = False
        organizer_04.save()
    elif how == "garbage":
        header = "Bearer cpg_not-a-real-token"
    else:
        header = "Basic b3JnYTA0QHRlc3QuY2FtcGFnbmU6eA=="
    response = Client().get("/api/v1/people", headers={"Authorization": header})
    assert response.status_code == 401


# --- session auth and CSRF ----------------------------------------------------------------
# Decision: the pages' session works on the API (htmx and page scripts use it), so unsafe
# methods need the CSRF token like any form; tokens need none, a browser never sends them.
NEW = {"first_name": "Marie", "commune": "04070", "origin": "formulaire site"}


def test_session_reads_without_csrf(organizer_digne, person_digne):
    client = Client(enforce_csrf_checks=True)
    client.force_login(organizer_digne)
    response = client.get("/api/v1/people")
    assert [item["id"] for item in response.json()["items"]] == [person_digne.pk]


def test_session_write_without_csrf_token_is_refused(organizer_digne):
    client = Client(enforce_csrf_checks=True)
    client.force_login(organizer_digne)
    response = client.post("/api/v1/people", json.dumps(NEW), content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Jeton CSRF absent ou invalide."}
    assert not Person.objects.exists()


def test_session_write_with_csrf_token_works(organizer_digne):
    client = Client(enforce_csrf_checks=True)
    client.force_login(organizer_digne)
    response = client.post(
        "/api/v1/people",
        json.dumps(NEW),
        content_type="application/json",
        headers={"X-CSRFToken": _csrf_cookie(client)},
    )
    assert response.status_code == 201, response.content
    assert Person.objects.get().first_name == "Marie"


def test_bearer_write_needs_no_csrf_token(organizer_digne):
    api = Api(organizer_digne, client=Client(enforce_csrf_checks=True))
    assert api.post("/people", NEW).status_code == 201
    assert Person.objects.count() == 1


def _csrf_cookie(client: Client) -> str:
    """The CSRF cookie a page would have set, whose value the page script echoes."""
    client.cookies["csrftoken"] = _get_new_csrf_string()
    return client.cookies["csrftoken"].value


# --- /me ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "role", "territories", "can_write"),
    [
        ("hq_admin", "hq_admin", [], True),
        ("hq_staff", "hq_staff", [], False),
        (
            "organizer_04",
            "organizer",
            [{"level": "departement", "code": "04", "name": "Alpes-de-Haute-Provence"}],
            True,
        ),
        (
            "organizer_digne",
            "organizer",
            [{"level": "commune", "code": "04070", "name": "Digne-les-Bains"}],
            True,
        ),
        ("volunteer", "volunteer", [], False),
    ],
)
def test_me_describes_the_caller(request, persona, role, territories, can_write):
    user = request.getfixturevalue(persona)
    body = Api(user).get("/me").json()
    assert body == {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": role,
        "territories": territories,
        "can_write_people": can_write,
        "can_export_people": can_write,
        "can_erase_people": persona == "hq_admin",
    }


# --- /me/tokens ---------------------------------------------------------------------------
def test_session_user_creates_a_token_that_then_works(organizer_04):
    client = Client(enforce_csrf_checks=True)
    client.force_login(organizer_04)
    response = client.post(
        "/api/v1/me/tokens",
        json.dumps({"name": "Tableur"}),
        content_type="application/json",
        headers={"X-CSRFToken": _csrf_cookie(client)},
    )
    assert response.status_code == 201
    body = response.json()
    token = ApiToken.objects.get()
    assert (body["id"], body["name"], body["hint"]) == (token.pk, "Tableur", token.hint)
    assert body["token"].startswith("cpg_") and body["token"][:8] == token.hint
    me = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["email"] == organizer_04.email


def test_a_token_cannot_mint_tokens(organizer_04):
    api = Api(organizer_04)
    response = api.post("/me/tokens", {"name": "Successeur"})
    assert response.status_code == 401
    assert ApiToken.objects.count() == 1  # the one the test client uses


def test_list_and_revoke_own_tokens(organizer_04, organizer_05):
    api = Api(organizer_04)
    other, _raw = ApiToken.issue(user=organizer_04, name="ancien")
    theirs, their_raw = ApiToken.issue(user=organizer_05, name="à eux")
    names = [token["name"] for token in api.get("/me/tokens").json()]
    assert sorted(names) == ["ancien", "tests"]
    assert api.delete(f"/me/tokens/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert api.delete(f"/me/tokens/{other.pk}").status_code == 204
    other.refresh_from_db()
    assert other.revoked_at is not None and other.revoked_at <= timezone.now()
    assert [token["name"] for token in api.get("/me/tokens").json()] == ["tests"]
    still = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {their_raw}"})
    assert still.status_code == 200
