"""The report's breakdown by segment: recipients of each segment of the audience (members
computed in the mailing creator's scope), human openers, clickers, unsubscribes."""

import pytest

from campagne.mailing.actions import unsubscribe
from campagne.mailing.message import unsubscribe_token
from campagne.segments.models import Segment
from campagne.tracking import recorder
from campagne.tracking.models import Hit
from campagne.tracking.report import _by_segment, mailing_report
from tests.factories import PersonFactory, commune
from tests.mailing.conftest import make_mailing
from tests.tracking.conftest import BODY, path, send_to, tracked_urls

HUMAN = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


@pytest.fixture
def people(db, person_digne, person_manosque, person_gap):
    person_digne.tags.create(name="militant")
    person_manosque.tags.add(*person_digne.tags.all())
    # Was in Manosque when the mailing left, has moved to Gap since: outside the
    # creator's territory now.
    person_gap.tags.add(*person_digne.tags.all())
    other_manosque = PersonFactory(
        first_name="Marc", last_name="Blanc", commune=commune("04112", "Manosque")
    )
    return person_digne, person_manosque, other_manosque, person_gap


def segments(owner) -> tuple[Segment, Segment]:
    militants = Segment.objects.create(
        name="Militants", owner=owner, definition={"tags": {"any": ["militant"]}}
    )
    manosque = Segment.objects.create(
        name="Manosque", owner=owner, definition={"territory": {"communes": ["04112"]}}
    )
    return militants, manosque


def sent_with_hits(client, sender, creator, people):
    """Digne opens and clicks; Manosque is opened by an image proxy only, then
    unsubscribes; Marc clicks (an open too); Gap clicks."""
    militants, manosque = segments(creator)
    mailing = make_mailing(sender, created_by=creator, body=BODY, segments=[militants, manosque])
    digne, paul, marc, gap = send_to(mailing, people)
    clicks, pixel = tracked_urls(mailing, digne)
    client.get(path(pixel), HTTP_USER_AGENT=HUMAN)
    client.get(path(clicks[0]), HTTP_USER_AGENT=HUMAN)
    _c, pixel = tracked_urls(mailing, paul)
    client.get(path(pixel), HTTP_USER_AGENT="GoogleImageProxy")
    for recipient in (marc, gap):
        clicks, _p = tracked_urls(mailing, recipient)
        client.get(path(clicks[1]), HTTP_USER_AGENT=HUMAN)
    recorder.flush_all()
    unsubscribe(token=unsubscribe_token(paul.pk))
    assert Hit.objects.filter(mailing=mailing, machine=False).count() == 4
    return mailing


def test_breakdown_by_segment_in_the_api(client, sender, organizer_04, people):
    mailing = sent_with_hits(client, sender, organizer_04, people)
    militants, manosque = (
        Segment.objects.get(name="Militants"),
        Segment.objects.get(name="Manosque"),
    )
    client.force_login(organizer_04)

    data = client.get(f"/api/v1/mailings/{mailing.pk}/report").json()

    # Gap's recipient is left out of "Militants": no longer in the organizer's territory.
    assert data["segments"] == [
        {
            "id": manosque.pk,
            "name": "Manosque",
            "recipients": 2,
            "openers": 1,
            "clickers": 1,
            "unsubscribes": 1,
        },
        {
            "id": militants.pk,
            "name": "Militants",
            "recipients": 2,
            "openers": 1,
            "clickers": 1,
            "unsubscribes": 1,
        },
    ]
    assert (data["sent"], data["human_openers"], data["unsubscribes"]) == (4, 3, 1)


def test_the_creators_scope_not_the_viewers(
    client, sender, hq_admin, hq_staff, organizer_04, people
):
    """The same mailing read by HQ gives the organizer's figures; a mailing HQ created
    counts Gap's recipient among the militants."""
    mailing = sent_with_hits(client, sender, organizer_04, people)
    client.force_login(hq_staff)
    rows = client.get(f"/api/v1/mailings/{mailing.pk}/report").json()["segments"]
    assert [(r["name"], r["recipients"]) for r in rows] == [("Manosque", 2), ("Militants", 2)]

    hq_mailing = sent_with_hits(client, sender, hq_admin, people)
    rows = mailing_report(hq_mailing)["segments"]
    assert [(r["name"], r["recipients"], r["openers"], r["clickers"]) for r in rows] == [
        ("Manosque", 2, 1, 1),
        ("Militants", 3, 2, 2),
    ]


def test_breakdown_on_the_report_page(client, sender, organizer_04, people):
    mailing = sent_with_hits(client, sender, organizer_04, people)
    client.force_login(organizer_04)
    response = client.get(f"/m/{mailing.pk}/rapport/")
    assert response.status_code == 200
    assert "Par segment" in response.text
    assert [
        (row["name"], row["recipients"], row["openers"], row["clickers"], row["unsubscribes"])
        for row in response.context["report"]["segments"]
    ] == [("Manosque", 2, 1, 1, 1), ("Militants", 2, 1, 1, 1)]
    assert "<td>Militants</td><td>2</td><td>1</td><td>1</td><td>1</td>" in response.text


def test_segment_queries_do_not_grow_with_recipients(
    client, sender, organizer_04, people, django_assert_num_queries
):
    mailing = sent_with_hits(client, sender, organizer_04, people)
    mailing.refresh_from_db()
    # The creator and their territories (1 + 3), the segments, then one query per segment.
    with django_assert_num_queries(7):
        rows = _by_segment(mailing)
    assert len(rows) == 2
    send_to(mailing, [PersonFactory(commune=commune("04112", "Manosque")) for _ in range(20)])
    mailing.refresh_from_db()
    with django_assert_num_queries(7):
        rows = _by_segment(mailing)
    assert [r["recipients"] for r in rows] == [22, 2]
