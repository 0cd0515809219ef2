"""Import pages: upload, mapping with preview, progress, rejects, review queue, merges."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campagne.imports import actions
from campagne.imports.models import DuplicateCandidate, ImportBatch, Merge
from campagne.people.models import Person
from tests.factories import PersonFactory, commune
from tests.imports.conftest import csv_bytes
from tests.people.helpers import HTMX, db_state

ROWS = [
    ["JEAN", "MARTIN", "jean@example.org", "06 12 34 56 78", "4000", "Digne"],
    ["Léa", "Roux", "lea@@example.org", "", "04000", "Digne"],
    ["Lucie", "Robert", "lucie@example.org", "", "05000", "Gap"],
]


def upload(client, rows=ROWS, **data):
    file = SimpleUploadedFile("contacts.csv", csv_bytes(rows, encoding="cp1252"))
    return client.post(reverse("imports:new"), {"file": file, "origin": "Pétition", **data})


def mapping_data(batch: ImportBatch, **overrides) -> dict:
    data = {f"column_{i}": field for i, field in enumerate(batch.mapping["fields"])}
    data.update({f"consent_{ch}": "none" for ch in ("email", "sms", "phone", "door")})
    data.update(overrides)
    return data


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("imports:list"))
    assert response.status_code == 302 and reverse("accounts:login") in response.url


@pytest.mark.parametrize("persona", ["hq_staff", "volunteer"])
def test_roles_that_may_not_import_get_403_and_nothing_changes(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("imports:list")).status_code == 403
    assert upload(client).status_code == 403
    assert not ImportBatch.objects.exists()
    assert not Person.objects.exists()


def test_upload_then_mapping_shows_the_guess_and_the_preview_before_writing(client, organizer_04):
    client.force_login(organizer_04)
    response = upload(client)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "imports:mapping", args=[batch.pk]
    )
    assert (batch.encoding, batch.delimiter, batch.status) == ("cp1252", ";", "draft")

    page = client.get(response.url)

    assert page.status_code == 200
    html = page.content.decode()
    assert batch.mapping["fields"] == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "postal_code",
        "town",
    ]
    rows = page.context["rows"]
    assert [(r.first_name, r.commune) for r in rows] == [
        ("Jean", "04070"),
        ("Léa", "04070"),
        ("Lucie", "05061"),
    ]
    assert dict(page.context["problems"]) == {"e-mail invalide": 1, "commune hors périmètre": 1}
    assert "+33612345678" in html
    assert not Person.objects.exists()  # nothing written before "Lancer l'import"


def test_a_corrected_mapping_updates_the_preview_as_a_fragment(client, organizer_04):
    client.force_login(organizer_04)
    upload(client)
    batch = ImportBatch.objects.get()
    url = reverse("imports:mapping", args=[batch.pk])
    response = client.post(url, mapping_data(batch, column_0="", column_1="first_name"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="preview"')
    assert "<td> Martin </td>" in html  # "MARTIN" is now the first name; no last name
    assert not Person.objects.exists()


def test_start_queues_the_import_and_the_page_follows_it(client, organizer_04):
    client.force_login(organizer_04)
    upload(client)
    batch = ImportBatch.objects.get()
    response = client.post(
        reverse("imports:mapping", args=[batch.pk]), mapping_data(batch, start="1", tags="2024")
    )
    assert response.status_code == 302 and response.url == reverse(
        "imports:detail", args=[batch.pk]
    )
    batch.refresh_from_db()
    assert (batch.status, batch.tags) == ("queued", ["2024"])
    fragment = client.get(reverse("imports:detail", args=[batch.pk]), **HTMX)
    assert 'hx-trigger="every 1s"' in fragment.content.decode()

    actions.run_import(batch_id=batch.pk)  # what the worker does

    page = client.get(reverse("imports:detail", args=[batch.pk]))
    assert page.context["batch"].counts == {
        "rows": 3,
        "created": 1,
        "updated": 0,
        "merged": 0,
        "review": 0,
        "rejected": 2,
    }
    assert "every 1s" not in page.content.decode()
    assert list(Person.objects.values_list("email", flat=True)) == ["jean@example.org"]
    assert ImportBatch.objects.get().file.name == ""  # the uploaded copy is deleted

    rejects = client.get(reverse("imports:rejected", args=[batch.pk]))
    content = b"".join(rejects.streaming_content).decode()
    lines = content.lstrip("\ufeff").splitlines()
    assert lines[0] == "ligne;motifs;Prénom;Nom;Courriel;Téléphone;Code postal;Ville"
    assert lines[1:] == [
        "3;e-mail invalide;Léa;Roux;lea@@example.org;;04000;Digne",
        "4;commune hors périmètre;Lucie;Robert;lucie@example.org;;05000;Gap",
    ]


def test_a_start_with_an_impossible_mapping_is_refused(client, hq_admin):
    client.force_login(hq_admin)
    upload(client)
    batch = ImportBatch.objects.get()
    data = mapping_data(batch, column_2="", column_3="", start="1")
    response = client.post(reverse("imports:mapping", args=[batch.pk]), data)
    assert response.status_code == 200
    assert "joindre personne" in response.content.decode()
    assert ImportBatch.objects.get().status == "draft"


def test_another_organizer_cannot_see_an_import(client, organizer_04, organizer_05):
    client.force_login(organizer_04)
    upload(client)
    batch = ImportBatch.objects.get()
    client.force_login(organizer_05)
    for name in ("detail", "mapping", "rejected"):
        assert client.get(reverse(f"imports:{name}", args=[batch.pk])).status_code == 404
    assert client.post(reverse("imports:resume", args=[batch.pk])).status_code == 404
    assert ImportBatch.objects.get().status == "draft"


@pytest.fixture
def candidate(db):
    a = PersonFactory(first_name="Jeanne", last_name="Martin", commune=commune("04070"))
    b = PersonFactory(first_name="Jeane", last_name="Martin", commune=commune("04070"))
    return DuplicateCandidate.objects.create(
        person_a=a,
        person_b=b,
        score=87,
        reasons=[{"part": "last_name", "detail": "martin", "points": 40}],
    )


def test_the_review_queue_is_scoped(
    client, candidate, hq_admin, hq_staff, organizer_04, organizer_05
):
    url = reverse("imports:candidates")
    for user, seen in (
        (hq_admin, True),
        (hq_staff, True),
        (organizer_04, True),
        (organizer_05, False),
    ):
        client.force_login(user)
        response = client.get(url)
        assert (candidate in response.context["candidates"]) is seen
    client.force_login(organizer_05)
    assert client.get(reverse("imports:candidate", args=[candidate.pk])).status_code == 404


def test_compare_merge_and_undo_from_the_pages(client, candidate, organizer_04):
    client.force_login(organizer_04)
    url = reverse("imports:candidate", args=[candidate.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "même nom (martin) : +40" in page.content.decode()
    response = client.post(url, {"keep": "a", "choice_first_name": "a", "merge": "1"})
    merge = Merge.objects.get()
    assert response.url == reverse("imports:merge", args=[merge.pk])
    assert list(Person.objects.values_list("first_name", flat=True)) == ["Jeanne"]
    assert client.get(response.url).status_code == 200

    response = client.post(reverse("imports:merge_undo", args=[merge.pk]))

    assert response.url == reverse("people:detail", args=[candidate.person_b_id])
    assert sorted(Person.objects.values_list("first_name", flat=True)) == ["Jeane", "Jeanne"]


def test_keeping_the_second_person_and_its_values(client, candidate, hq_admin):
    client.force_login(hq_admin)
    url = reverse("imports:candidate", args=[candidate.pk])
    client.post(url, {"keep": "b", "choice_first_name": "a", "merge": "1"})
    survivor = Person.objects.get()
    assert (survivor.pk, survivor.first_name) == (candidate.person_b_id, "Jeanne")


def test_dismissing_a_pair(client, candidate, organizer_04):
    client.force_login(organizer_04)
    client.post(reverse("imports:candidate", args=[candidate.pk]), {"dismiss": "1"})
    candidate.refresh_from_db()
    assert (candidate.status, candidate.decided_by) == ("dismissed", organizer_04)
    assert Person.objects.count() == 2


def test_hq_staff_may_look_but_not_merge(client, candidate, hq_staff):
    client.force_login(hq_staff)
    url = reverse("imports:candidate", args=[candidate.pk])
    assert client.get(url).status_code == 200
    before = db_state(candidate.person_a), db_state(candidate.person_b)
    assert client.post(url, {"keep": "a", "merge": "1"}).status_code == 403
    assert client.post(url, {"dismiss": "1"}).status_code == 403
    assert (db_state(candidate.person_a), db_state(candidate.person_b)) == before
    candidate.refresh_from_db()
    assert candidate.status == "open"


def test_merge_by_hand(client, hq_admin, person_digne, person_manosque):
    client.force_login(hq_admin)
    url = reverse("imports:merge_new") + f"?a={person_digne.pk}&b={person_manosque.pk}"
    assert client.get(url).status_code == 200
    client.post(url, {"keep": "a", "merge": "1"})
    assert list(Person.objects.values_list("pk", flat=True)) == [person_digne.pk]


def test_merge_by_hand_outside_the_scope_is_404(client, organizer_04, person_digne, person_gap):
    client.force_login(organizer_04)
    url = reverse("imports:merge_new") + f"?a={person_digne.pk}&b={person_gap.pk}"
    assert client.get(url).status_code == 404
    assert client.post(url, {"keep": "a", "merge": "1"}).status_code == 404
    assert Person.objects.count() == 2
