"""The report's chart over time: per hour for the first two days, per day past them, with
readable axis labels and the same figures in a table."""

import datetime as dt
import uuid
import zoneinfo

import pytest
from django.utils import translation

from campagne.tracking.models import Hit
from campagne.tracking.report import mailing_report
from tests.tracking.conftest import send_to

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _french():
    with translation.override("fr"):
        yield


def hit(mailing, recipient, at, kind=Hit.Kind.OPEN, machine=False):
    return Hit(
        id=uuid.uuid4(),
        kind=kind,
        mailing=mailing,
        recipient=recipient,
        at=at,
        machine=machine,
    )


def test_hits_within_two_days_are_counted_per_hour(mailing, person_digne, person_manosque):
    digne, manosque = send_to(mailing, [person_digne, person_manosque])
    start = dt.datetime(2026, 11, 19, 22, 10, tzinfo=PARIS)
    Hit.objects.bulk_create(
        [
            hit(mailing, digne, start),
            hit(mailing, digne, start + dt.timedelta(minutes=5), Hit.Kind.CLICK),
            hit(mailing, manosque, start + dt.timedelta(hours=3)),
            # A machine's open is left out of the chart.
            hit(mailing, manosque, start + dt.timedelta(hours=40), machine=True),
        ]
    )

    chart = mailing_report(mailing)["chart"]

    assert chart.unit == "hour"
    assert [(at.hour, opens, clicks) for at, opens, clicks in chart.buckets] == [
        (22, 1, 1),
        (23, 0, 0),
        (0, 0, 0),
        (1, 1, 0),
    ]
    drawing = chart.drawing
    assert [tick.label for tick in drawing.x_ticks] == [
        "19 nov. 22 h",
        "23 h",
        "20 nov. 0 h",
        "1 h",
    ]
    assert [tick.label for tick in drawing.y_ticks] == ["0", "1"]
    assert [line.name for line in drawing.lines] == ["Ouvertures", "Clics"]
    assert chart.rows[0] == ("19 nov. 22 h", 1, 1)


def test_hits_over_more_than_two_days_are_counted_per_day(mailing, person_digne):
    (digne,) = send_to(mailing, [person_digne])
    start = dt.datetime(2026, 11, 19, 9, tzinfo=PARIS)
    Hit.objects.bulk_create(
        [hit(mailing, digne, start + dt.timedelta(hours=12 * i)) for i in range(8)]
    )

    chart = mailing_report(mailing)["chart"]

    assert chart.unit == "day"
    assert [(at.day, opens) for at, opens, _clicks in chart.buckets] == [
        (19, 2),
        (20, 2),
        (21, 2),
        (22, 2),
    ]
    assert [tick.label for tick in chart.drawing.x_ticks] == [
        "19 nov.",
        "20 nov.",
        "21 nov.",
        "22 nov.",
    ]


def test_the_page_draws_the_chart_with_its_title_and_table(client, hq_admin, mailing, person_digne):
    (digne,) = send_to(mailing, [person_digne])
    start = dt.datetime(2026, 11, 19, 14, 30, tzinfo=PARIS)
    Hit.objects.bulk_create([hit(mailing, digne, start), hit(mailing, digne, start, "click")])
    client.force_login(hq_admin)

    html = client.get(f"/m/{mailing.pk}/rapport/", HTTP_ACCEPT_LANGUAGE="fr").text

    assert '<title id="hits-chart-title">Ouvertures et clics de personnes, par heure' in html
    assert '<desc id="hits-chart-desc">' in html
    assert ">19 nov. 14 h</text>" in html
    assert "<td>19 nov. 14 h</td><td>1</td><td>1</td>" in html
    # Coordinates in dots, whatever the language.
    assert 'cx="338.0"' in html
