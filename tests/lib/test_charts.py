"""The geometry of the inline SVG line charts: round y axes, few x labels that never
overlap, labels in the reader's language."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import translation

from campagne.lib import charts

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _french():
    with translation.override("fr"):
        yield


@pytest.mark.parametrize(
    ("peak", "integer", "expected"),
    [
        (295, True, (300, 100)),
        (360, True, (400, 100)),
        (1210, True, (1500, 500)),
        (3, True, (3, 1)),
        (1, True, (1, 1)),
        (0, True, (1, 1)),
        (76.8, False, (80, 20)),
        (100, False, (100, 25)),
        (4.2, False, (6, 2)),
    ],
)
def test_the_y_axis_ends_on_a_round_value_just_above_the_peak(peak, integer, expected):
    assert charts.nice_top(peak, integer=integer) == expected


def test_counts_never_get_fractional_steps():
    top, step = charts.nice_top(2, integer=True)
    assert (top, step) == (2, 1)
    assert charts.nice_top(2, integer=False) == (2, 0.5)


def hours(start: dt.datetime, count: int) -> list[dt.datetime]:
    return [start + dt.timedelta(hours=i) for i in range(count)]


def test_hourly_ticks_fall_on_round_hours():
    moments = hours(dt.datetime(2026, 11, 19, 14, tzinfo=PARIS), 72)
    keys = [charts.hour_key(at) for at in moments]
    chosen = charts.tick_indices(keys, steps=charts.HOUR_STEPS)
    assert [moments[i].strftime("%d %Hh") for i in chosen] == [
        "20 00h",
        "20 12h",
        "21 00h",
        "21 12h",
        "22 00h",
        "22 12h",
    ]


def test_few_points_are_all_labelled():
    keys = [charts.day_key(dt.date(2026, 11, d)) for d in (19, 20, 21)]
    assert charts.tick_indices(keys, steps=charts.DAY_STEPS) == [0, 1, 2]


def test_a_month_of_days_is_labelled_on_mondays():
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(30)]
    chosen = charts.tick_indices([charts.day_key(d) for d in days], steps=charts.DAY_STEPS)
    assert [days[i] for i in chosen] == [
        dt.date(2026, 11, 2),
        dt.date(2026, 11, 9),
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 30),
    ]
    assert {days[i].weekday() for i in chosen} == {0}


def test_too_many_points_for_every_step_are_thinned_evenly():
    assert charts.tick_indices(list(range(1000)), steps=(1,)) == [0, 167, 334, 501, 668, 835]
    assert charts.tick_indices([]) == []
    # No key on a round value: the first point is labelled anyway.
    assert charts.tick_indices([13, 14, 15], steps=(24,)) == [0]


def test_labels_in_french():
    assert charts.day_label(dt.date(2026, 11, 19)) == "19 nov."
    moment = dt.datetime(2026, 11, 19, 14, 0, tzinfo=PARIS)
    assert charts.hour_label(moment, with_day=False) == "14 h"
    assert charts.hour_label(moment, with_day=True) == "19 nov. 14 h"
    assert charts.number_label(1210) == "1\N{NO-BREAK SPACE}210"
    assert charts.number_label(2.5) == "2,5"
    assert charts.percent_label(80.0) == "80 %"


def test_two_days_by_the_hour_say_the_day_when_it_changes():
    moments = hours(dt.datetime(2026, 11, 19, 14, tzinfo=PARIS), 48)

    def x_label(index, previous):
        new_day = previous is None or moments[previous].date() != moments[index].date()
        return charts.hour_label(moments[index], with_day=new_day)

    chart = charts.line_chart(
        lines=[charts.Line("Ouvertures", [10 * (i % 5) for i in range(48)], "#000")],
        x_keys=[charts.hour_key(at) for at in moments],
        x_steps=charts.HOUR_STEPS,
        x_label=x_label,
        point_label=lambda index: charts.hour_label(moments[index], with_day=True),
    )
    labels = [tick.label for tick in chart.x_ticks]
    assert labels == ["20 nov. 0 h", "12 h", "21 nov. 0 h", "12 h"]
    positions = [tick.position for tick in chart.x_ticks]
    assert positions == sorted(positions)
    # Neighbouring labels, centred on their tick, leave a gap between them.
    for a, b in zip(chart.x_ticks, chart.x_ticks[1:], strict=False):
        half_widths = (len(a.label) + len(b.label)) * charts.CHAR_WIDTH / 2
        assert b.position - a.position > half_widths + 10
    # 48 points would hide the line under their dots.
    assert chart.dots == []


def test_geometry_of_a_short_series():
    chart = charts.line_chart(
        lines=[
            charts.Line("Ouvertures", [130, 360, 58], "#2563eb"),
            charts.Line("Clics", [29, 97, 15], "#b91c1c", area=True),
        ],
        x_keys=[0, 1, 2],
        x_label=lambda index, _previous: f"{index + 5} h",
        point_label=lambda index: f"{index + 5} h",
    )
    left, right, top, bottom = chart.left, chart.right, chart.top, chart.bottom
    assert (left, right, top, bottom) == (52, 624, 14, 190)
    assert [(t.position, t.label, t.anchor) for t in chart.x_ticks] == [
        (52.0, "5 h", "middle"),
        (338.0, "6 h", "middle"),
        (624.0, "7 h", "middle"),
    ]
    # 0 at the bottom, 400 (the round value above 360) at the top.
    assert [(t.position, t.label) for t in chart.y_ticks] == [
        (190.0, "0"),
        (146.0, "100"),
        (102.0, "200"),
        (58.0, "300"),
        (14.0, "400"),
    ]
    opens, clicks = chart.lines
    assert opens.points == "52.0,132.8 338.0,31.6 624.0,164.5"
    assert opens.area == ""
    assert clicks.area == "52.0,190 52.0,177.2 338.0,147.3 624.0,183.4 624.0,190"
    assert [d.title for d in opens.dots] == ["5 h : 130", "6 h : 360", "7 h : 58"]


def test_a_single_point_stands_in_the_middle():
    chart = charts.line_chart(
        lines=[charts.Line("Part atteinte", [24.0], "#b3125b", area=True)],
        x_keys=[charts.day_key(dt.date(2026, 11, 19))],
        x_label=lambda _index, _previous: "19 nov.",
        point_label=lambda _index: "19 nov.",
        y_label=charts.percent_label,
        integer=False,
    )
    assert [(t.position, t.label) for t in chart.x_ticks] == [(338.0, "19 nov.")]
    assert [t.label for t in chart.y_ticks] == ["0 %", "10 %", "20 %", "30 %"]
    assert [d.title for d in chart.dots] == ["19 nov. : 24 %"]


def test_labels_at_the_edges_stay_inside_the_drawing():
    assert charts._anchored(10, "20 nov. 14 h", 640).anchor == "start"
    assert charts._anchored(635, "21 nov.", 640).anchor == "end"
    assert charts._anchored(320, "21 nov.", 640).anchor == "middle"


def test_no_chart_without_points_and_one_value_per_point():
    assert charts.line_chart(lines=[], x_keys=[1], x_label=str, point_label=str) is None
    with pytest.raises(ValueError, match="one value per x key"):
        charts.line_chart(
            lines=[charts.Line("a", [1, 2], "#000")],
            x_keys=[1],
            x_label=lambda i, p: "",
            point_label=str,
        )


def test_the_coverage_chart_is_in_percent_of_the_doors():
    from campagne.canvassing.stats import coverage_chart

    chart = coverage_chart(
        [
            (dt.date(2026, 11, 19), 83 / 314),
            (dt.date(2026, 11, 20), 167 / 314),
            (dt.date(2026, 11, 21), 239 / 314),
        ]
    )
    assert [t.label for t in chart.x_ticks] == ["19 nov.", "20 nov.", "21 nov."]
    assert [t.label for t in chart.y_ticks] == ["0 %", "20 %", "40 %", "60 %", "80 %"]
    assert [d.title for d in chart.dots] == [
        "19 nov. : 26,4 %",
        "20 nov. : 53,2 %",
        "21 nov. : 76,1 %",
    ]
    (line,) = chart.lines
    assert line.area  # shaded down to 0 %
