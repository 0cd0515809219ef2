"""Commune suggestions of the commune fields: only communes of the user's scope."""

from django.urls import reverse

from campagne.territory.models import PostalCode
from tests.factories import commune

OPTIONS = reverse("people:communes")


def test_suggestions_are_the_communes_of_the_scope(client, organizer_digne):
    PostalCode.objects.get_or_create(code="04000", commune=commune("04070"))
    commune("04112", "Manosque")
    client.force_login(organizer_digne)
    body = client.get(OPTIONS, {"commune": "digne"}).content.decode()
    assert '<option value="Digne-les-Bains (04070)">04000</option>' in body
    assert "Manosque" not in client.get(OPTIONS, {"commune": "mano"}).content.decode()


def test_suggestions_find_communes_by_postcode_and_insee_code(client, organizer_04):
    manosque = commune("04112", "Manosque")
    PostalCode.objects.get_or_create(code="04100", commune=manosque)
    client.force_login(organizer_04)
    assert "Manosque (04112)" in client.get(OPTIONS, {"commune": "04100"}).content.decode()
    assert "Manosque (04112)" in client.get(OPTIONS, {"commune": "04112"}).content.decode()


def test_suggestions_wait_for_two_characters(client, hq_admin):
    commune("04070")
    client.force_login(hq_admin)
    assert client.get(OPTIONS, {"commune": "d"}).content.decode().strip() == ""


def test_volunteer_gets_no_suggestion(client, volunteer):
    commune("04070")
    client.force_login(volunteer)
    assert client.get(OPTIONS, {"commune": "digne"}).content.decode().strip() == ""


def test_anonymous_visitor_gets_no_suggestion(client, db):
    from tests.people.helpers import assert_sent_to_login

    assert_sent_to_login(client.get(OPTIONS, {"commune": "digne"}))
