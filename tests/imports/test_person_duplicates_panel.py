"""The person page lists the person's open duplicate pairs, within the viewer's scope."""

from django.urls import reverse

from campagne.imports.models import DuplicateCandidate
from tests.factories import PersonFactory, commune


def _pair(a, b):
    first, second = sorted([a, b], key=lambda p: p.pk)
    return DuplicateCandidate.objects.create(person_a=first, person_b=second, score=80, reasons=[])


def test_person_page_links_to_an_open_duplicate_pair(client, organizer_04, person_digne):
    twin = PersonFactory(first_name="Jeane", last_name="Martin", commune=commune("04070"))
    candidate = _pair(person_digne, twin)
    client.force_login(organizer_04)
    body = client.get(reverse("people:detail", args=[person_digne.pk])).content.decode()
    assert reverse("imports:candidate", args=[candidate.pk]) in body
    assert "Jeane Martin" in body
    assert f'name="a" value="{person_digne.pk}"' in body


def test_read_only_staff_sees_pairs_but_no_merge_form(client, hq_staff, person_digne):
    twin = PersonFactory(first_name="Jeane", last_name="Martin", commune=commune("04070"))
    _pair(person_digne, twin)
    client.force_login(hq_staff)
    body = client.get(reverse("people:detail", args=[person_digne.pk])).content.decode()
    assert "Jeane Martin" in body
    assert reverse("imports:merge_new") not in body


def test_a_pair_half_outside_the_organizer_scope_is_not_shown(
    client, organizer_digne, person_digne, person_manosque
):
    _pair(person_digne, person_manosque)
    client.force_login(organizer_digne)
    body = client.get(reverse("people:detail", args=[person_digne.pk])).content.decode()
    assert "Paul Bernard" not in body
    assert "Aucun doublon en attente" in body
