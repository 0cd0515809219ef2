"""Team pages: organizers create and edit the teams of their territories, choosing leader
and members among the accounts attached there; HQ staff reads; volunteers see their own
teams only. Every refused write leaves the team as it was."""

import pytest
from django.urls import reverse

from campagne.canvassing.models import Team
from tests.canvassing.factories import FieldCampaignFactory, SessionFactory, turf_with_stops
from tests.factories import UserFactory, commune

pytestmark = pytest.mark.django_db


@pytest.fixture
def digne_volunteer(db):
    return UserFactory(
        email="militant.digne@test.campagne",
        first_name="Anne",
        last_name="Digne",
        communes=["04070"],
    )


@pytest.fixture
def dept04_volunteer(db):
    """Attached to the whole département 04 (so to every commune of it)."""
    return UserFactory(
        email="militant.04@test.campagne",
        first_name="Bruno",
        last_name="Quatre",
        departements=["04"],
    )


@pytest.fixture
def gap_volunteer(db):
    return UserFactory(
        email="militant.gap@test.campagne", first_name="Chloé", last_name="Gap", communes=["05061"]
    )


@pytest.fixture
def digne_team(digne_volunteer, dept04_volunteer):
    team = Team.objects.create(name="Les Hubacs", commune=commune("04070"), leader=digne_volunteer)
    team.members.set([digne_volunteer, dept04_volunteer])
    return team


@pytest.fixture
def manosque_team(db):
    return Team.objects.create(name="Manosque centre", commune=commune("04112", "Manosque"))


@pytest.fixture
def gap_team(gap_volunteer):
    team = Team.objects.create(name="Gap nord", commune=commune("05061", "Gap"))
    team.members.set([gap_volunteer])
    return team


def snapshot(team: Team) -> tuple:
    team = Team.objects.get(pk=team.pk)
    return (
        team.name,
        team.commune_id,
        team.leader_id,
        sorted(team.members.values_list("pk", flat=True)),
    )


def names(response) -> list[str]:
    return [team.name for team in response.context["teams"]]


# --- the list -------------------------------------------------------------------------------
def test_hq_sees_every_team(client, hq_staff, digne_team, manosque_team, gap_team):
    client.force_login(hq_staff)
    response = client.get(reverse("canvassing:teams"))
    assert response.status_code == 200
    assert names(response) == ["Les Hubacs", "Gap nord", "Manosque centre"]
    # HQ staff reads but does not manage: no creation button.
    assert reverse("canvassing:team_create") not in response.text


def test_organizer_sees_the_teams_of_their_territories(
    client, organizer_04, organizer_digne, digne_team, manosque_team, gap_team
):
    client.force_login(organizer_04)
    response = client.get(reverse("canvassing:teams"))
    assert names(response) == ["Les Hubacs", "Manosque centre"]
    assert reverse("canvassing:team_create") in response.text

    client.force_login(organizer_digne)
    assert names(client.get(reverse("canvassing:teams"))) == ["Les Hubacs"]


def test_the_list_costs_a_fixed_number_of_queries(
    client, organizer_04, digne_team, manosque_team, django_assert_num_queries
):
    for n in range(5):
        team = Team.objects.create(name=f"Équipe {n}", commune=commune("04070"))
        team.members.set([UserFactory(communes=["04070"]) for _ in range(3)])
    client.force_login(organizer_04)
    # Session, user, the organizer's territories (3), the teams with their counts.
    with django_assert_num_queries(6):
        response = client.get(reverse("canvassing:teams"))
    assert len(response.context["teams"]) == 7
    counts = {team.name: team.member_count for team in response.context["teams"]}
    assert counts["Équipe 0"] == 3
    assert counts["Les Hubacs"] == 2


def test_volunteer_sees_only_their_teams(
    client, digne_volunteer, dept04_volunteer, digne_team, manosque_team, gap_team
):
    led = Team.objects.create(name="Digne sud", commune=commune("04070"), leader=dept04_volunteer)
    client.force_login(dept04_volunteer)
    response = client.get(reverse("canvassing:teams"))
    assert response.status_code == 200
    assert names(response) == ["Digne sud", "Les Hubacs"]
    assert reverse("canvassing:team_create") not in response.text

    detail = client.get(reverse("canvassing:team", args=[digne_team.pk]))
    assert detail.status_code == 200
    assert "Anne Digne" in detail.text
    # Read-only: no edit link, no remove button, no e-mail addresses of the others.
    assert reverse("canvassing:team_edit", args=[digne_team.pk]) not in detail.text
    assert reverse("canvassing:team_remove_member", args=[digne_team.pk]) not in detail.text
    assert "militant.digne@test.campagne" not in detail.text
    assert client.get(reverse("canvassing:team", args=[led.pk])).status_code == 200
    for other in (manosque_team, gap_team):
        assert client.get(reverse("canvassing:team", args=[other.pk])).status_code == 404


def test_volunteer_cannot_change_their_team(client, digne_volunteer, digne_team):
    before = snapshot(digne_team)
    client.force_login(digne_volunteer)
    edit = reverse("canvassing:team_edit", args=[digne_team.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"name": "Renommée", "commune": "04070"}).status_code == 403
    remove = reverse("canvassing:team_remove_member", args=[digne_team.pk])
    assert client.post(remove, {"member": digne_volunteer.pk}).status_code == 403
    create = client.post(reverse("canvassing:team_create"), {"name": "X", "commune": "04070"})
    assert create.status_code == 403
    assert snapshot(digne_team) == before
    assert Team.objects.count() == 1


def test_volunteer_sees_the_open_sessions_of_their_team(client, digne_volunteer, digne_team):
    turf = turf_with_stops(3, campaign=FieldCampaignFactory(name="Printemps"))
    SessionFactory(turf=turf, campaign=turf.campaign, team=digne_team, volunteer=None)
    client.force_login(digne_volunteer)
    response = client.get(reverse("canvassing:team", args=[digne_team.pk]))
    assert [s.turf for s in response.context["sessions"]] == [turf]
    assert "Printemps" in response.text


def test_login_is_required(client, digne_team):
    response = client.get(reverse("canvassing:teams"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_subnav_links_the_teams_for_organizers(client, organizer_04):
    client.force_login(organizer_04)
    response = client.get(reverse("canvassing:campaigns"))
    assert f'href="{reverse("canvassing:teams")}"' in response.text


# --- creating and editing -------------------------------------------------------------------
def test_organizer_creates_then_fills_a_team(
    client, organizer_04, digne_volunteer, dept04_volunteer, gap_volunteer
):
    client.force_login(organizer_04)
    assert client.get(reverse("canvassing:team_create")).status_code == 200

    response = client.post(
        reverse("canvassing:team_create"), {"name": "  Les Arches ", "commune": "04070"}
    )

    team = Team.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("canvassing:team_edit", args=[team.pk])
    assert (team.name, team.commune_id, team.leader, list(team.members.all())) == (
        "Les Arches",
        "04070",
        None,
        [],
    )

    edit = client.get(response["Location"])
    offered = set(edit.context["form"].fields["members"].queryset)
    # Accounts attached to the commune or its département; not Gap's, nor HQ's.
    assert offered == {digne_volunteer, dept04_volunteer, organizer_04}
    assert gap_volunteer not in set(edit.context["form"].fields["leader"].queryset)

    response = client.post(
        response["Location"],
        {
            "name": "Les Arches",
            "commune": "Digne-les-Bains (04070)",
            "leader": dept04_volunteer.pk,
            "members": [digne_volunteer.pk, dept04_volunteer.pk],
        },
    )
    assert response.status_code == 302
    assert snapshot(team) == (
        "Les Arches",
        "04070",
        dept04_volunteer.pk,
        sorted([digne_volunteer.pk, dept04_volunteer.pk]),
    )


def test_a_member_from_elsewhere_is_refused(client, organizer_04, gap_volunteer, digne_team):
    before = snapshot(digne_team)
    client.force_login(organizer_04)
    response = client.post(
        reverse("canvassing:team_edit", args=[digne_team.pk]),
        {"name": "Autre nom", "commune": "04070", "members": [gap_volunteer.pk]},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["members"]
    assert snapshot(digne_team) == before


def test_moving_a_team_checks_its_members_against_the_new_commune(
    client, organizer_04, digne_volunteer, dept04_volunteer, digne_team
):
    """Anne is attached to Digne only: the team cannot move to Manosque with her."""
    before = snapshot(digne_team)
    client.force_login(organizer_04)
    url = reverse("canvassing:team_edit", args=[digne_team.pk])
    response = client.post(
        url,
        {"name": "Les Hubacs", "commune": "04112", "members": [digne_volunteer.pk]},
    )
    assert response.status_code == 400
    assert "Anne Digne" in str(response.context["form"].errors["members"])
    assert snapshot(digne_team) == before

    response = client.post(
        url, {"name": "Les Hubacs", "commune": "04112", "members": [dept04_volunteer.pk]}
    )
    assert response.status_code == 302
    assert snapshot(digne_team) == ("Les Hubacs", "04112", None, [dept04_volunteer.pk])


def test_organizer_of_a_commune_cannot_create_a_team_next_door(client, organizer_digne):
    client.force_login(organizer_digne)
    response = client.post(
        reverse("canvassing:team_create"), {"name": "Manosque", "commune": "04112"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["commune"]
    assert not Team.objects.exists()


# --- outside the scope: 404, nothing changed ------------------------------------------------
def test_organizer_of_05_gets_404_on_a_team_of_04(
    client, organizer_05, digne_volunteer, digne_team
):
    before = snapshot(digne_team)
    client.force_login(organizer_05)
    assert client.get(reverse("canvassing:team", args=[digne_team.pk])).status_code == 404
    edit = reverse("canvassing:team_edit", args=[digne_team.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, {"name": "Prise", "commune": "05061"}).status_code == 404
    remove = reverse("canvassing:team_remove_member", args=[digne_team.pk])
    assert client.post(remove, {"member": digne_volunteer.pk}).status_code == 404
    assert snapshot(digne_team) == before
    assert "Les Hubacs" not in client.get(reverse("canvassing:teams")).text


def test_organizer_of_05_cannot_create_a_team_in_04(client, organizer_05):
    client.force_login(organizer_05)
    for commune_text in ("04070", "Digne-les-Bains (04070)"):
        response = client.post(
            reverse("canvassing:team_create"), {"name": "Intrus", "commune": commune_text}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["commune"]
    assert not Team.objects.exists()


def test_hq_staff_may_not_write(client, hq_staff, digne_volunteer, digne_team):
    before = snapshot(digne_team)
    client.force_login(hq_staff)
    assert client.get(reverse("canvassing:team", args=[digne_team.pk])).status_code == 200
    assert client.get(reverse("canvassing:team_create")).status_code == 403
    response = client.post(reverse("canvassing:team_create"), {"name": "X", "commune": "04070"})
    assert response.status_code == 403
    edit = reverse("canvassing:team_edit", args=[digne_team.pk])
    assert client.post(edit, {"name": "Renommée", "commune": "04070"}).status_code == 403
    remove = reverse("canvassing:team_remove_member", args=[digne_team.pk])
    assert client.post(remove, {"member": digne_volunteer.pk}).status_code == 403
    assert snapshot(digne_team) == before
    assert Team.objects.count() == 1


def test_hq_admin_creates_a_team_anywhere(client, hq_admin, gap_volunteer):
    client.force_login(hq_admin)
    response = client.post(reverse("canvassing:team_create"), {"name": "Gap", "commune": "05061"})
    assert response.status_code == 302
    assert Team.objects.get().commune_id == "05061"


# --- removing a member ----------------------------------------------------------------------
def test_removing_the_leader_leaves_the_team_without_one(
    client, organizer_04, digne_volunteer, dept04_volunteer, digne_team
):
    client.force_login(organizer_04)
    response = client.post(
        reverse("canvassing:team_remove_member", args=[digne_team.pk]),
        {"member": digne_volunteer.pk},
    )
    assert response.status_code == 302
    assert snapshot(digne_team) == ("Les Hubacs", "04070", None, [dept04_volunteer.pk])


def test_removing_someone_who_is_not_a_member_changes_nothing(
    client, organizer_04, gap_volunteer, digne_team
):
    before = snapshot(digne_team)
    client.force_login(organizer_04)
    url = reverse("canvassing:team_remove_member", args=[digne_team.pk])
    for value in (gap_volunteer.pk, "abc", ""):
        response = client.post(url, {"member": value}, follow=True)
        assert [str(m) for m in response.context["messages"]] == [
            "Ce compte ne fait pas partie de l'équipe."
        ]
    assert snapshot(digne_team) == before
    assert client.get(url).status_code == 405
