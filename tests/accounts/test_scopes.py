"""The scoping layer: who reads which people, and what each role may do."""

import pytest

from campagne.accounts.models import Role
from campagne.accounts.scopes import scope_for
from tests.factories import PersonFactory, UserFactory, commune, departement


def ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_hq_roles_read_everyone(hq_admin, hq_staff, person_digne, person_manosque, person_gap):
    everyone = {person_digne.pk, person_manosque.pk, person_gap.pk}
    assert ids(scope_for(hq_admin).people()) == everyone
    assert ids(scope_for(hq_staff).people()) == everyone


def test_departement_organizer_reads_only_their_departement(
    organizer_04, organizer_05, person_digne, person_manosque, person_gap
):
    assert ids(scope_for(organizer_04).people()) == {person_digne.pk, person_manosque.pk}
    assert ids(scope_for(organizer_05).people()) == {person_gap.pk}


def test_commune_organizer_reads_only_their_commune(organizer_digne, person_digne, person_manosque):
    assert ids(scope_for(organizer_digne).people()) == {person_digne.pk}


def test_region_organizer_reads_every_departement_of_the_region(db, person_digne, person_gap):
    departement("05", "Hautes-Alpes")
    departement("69", "Rhône", region_code="84")
    lyon = PersonFactory(commune=commune("69123", "Lyon", dep="69"))
    user = UserFactory(role=Role.ORGANIZER)
    user.regions.set([person_digne.commune.departement.region])
    visible = ids(scope_for(user).people())
    assert person_digne.pk in visible
    assert person_gap.pk in visible  # 04 and 05 are both in Provence-Alpes-Côte d'Azur
    assert lyon.pk not in visible


def test_commune_organizer_covers_municipal_arrondissements(db):
    paris = commune("75056", "Paris")
    district = commune("75115", "Paris 15e Arrondissement")
    district.parent = paris
    district.save()
    someone = PersonFactory(commune=district)
    user = UserFactory(role=Role.ORGANIZER, communes=["75056"])
    assert ids(scope_for(user).people()) == {someone.pk}


def test_volunteer_and_anonymous_read_nobody(volunteer, person_digne):
    from django.contrib.auth.models import AnonymousUser

    assert ids(scope_for(volunteer).people()) == set()
    assert ids(scope_for(AnonymousUser()).people()) == set()


def test_inactive_account_reads_nobody(hq_admin, person_digne):
    hq_admin.is_active = False
    assert ids(scope_for(hq_admin).people()) == set()


@pytest.mark.parametrize(
    ("persona", "read", "write", "export", "erase"),
    [
        ("hq_admin", True, True, True, True),
        ("hq_staff", True, False, False, False),
        ("organizer_04", True, True, True, False),
        ("volunteer", False, False, False, False),
    ],
)
def test_what_each_role_may_do(request, persona, read, write, export, erase):
    scope = scope_for(request.getfixturevalue(persona))
    assert (
        scope.can_read_people,
        scope.can_write_people,
        scope.can_export_people,
        scope.can_erase_people,
    ) == (read, write, export, erase)


def test_person_outside_scope_is_404_and_read_only_write_is_403(
    organizer_05, hq_staff, person_digne
):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    with pytest.raises(Http404):
        scope_for(organizer_05).person(person_digne.pk)
    with pytest.raises(PermissionDenied):
        scope_for(hq_staff).person_for_write(person_digne.pk)
    with pytest.raises(Http404):
        scope_for(hq_staff).person("not-a-number")


def test_organizer_communes_are_their_territory_only(organizer_digne):
    assert list(scope_for(organizer_digne).communes().values_list("code", flat=True)) == ["04070"]
