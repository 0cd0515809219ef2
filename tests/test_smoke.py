from django.urls import reverse


def test_login_page_is_served_in_french(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert "Connexion" in response.content.decode()


def test_organizer_list_shows_only_their_departement(
    client, organizer_04, person_digne, person_gap
):
    client.force_login(organizer_04)
    response = client.get(reverse("people:list"))
    body = response.content.decode()
    assert "Jeanne Martin" in body
    assert "Lucie Robert" not in body
