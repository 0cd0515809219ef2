"""Who a segment selects: each criterion, their combinations, composition and scope."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campagne.accounts.scopes import scope_for
from campagne.segments.definition import Definition
from campagne.segments.models import members
from tests.segments.conftest import names

EVERYONE = ["Alice", "Bruno", "Chloé", "Denis", "Emma"]


def selected(definition: dict, user) -> list[str]:
    return names(members(Definition.model_validate(definition), scope_for(user)))


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({}, EVERYONE),
        ({"status": ["sympathisant", "militant"]}, ["Alice", "Bruno"]),
        ({"status": ["contact"]}, ["Chloé", "Emma"]),
        ({"tags": {"any": ["tractage", "elus"]}}, ["Alice", "Bruno", "Emma"]),
        ({"tags": {"all": ["tractage", "jeunes"]}}, ["Alice"]),
        ({"tags": {"none": ["tractage"]}}, ["Chloé", "Denis", "Emma"]),
        ({"tags": {"none": ["tractage", "jeunes"]}}, ["Denis", "Emma"]),
        ({"tags": {"any": ["jeunes"], "none": ["tractage"]}}, ["Chloé"]),
        ({"tags": {"any": ["inconnue"]}}, []),
        ({"territory": {"communes": ["04070"]}}, ["Alice"]),
        ({"territory": {"departements": ["04"]}}, ["Alice", "Bruno"]),
        ({"territory": {"departements": ["05"], "communes": ["04112"]}}, ["Bruno", "Chloé"]),
        ({"territory": {"regions": ["93"]}}, ["Alice", "Bruno", "Chloé"]),
        ({"territory": {"regions": ["11"]}}, ["Denis"]),
        # Paris (75056) covers its arrondissements, as in the organizers' scopes.
        ({"territory": {"communes": ["75056"]}}, ["Denis"]),
        ({"consents": ["email"]}, ["Alice", "Denis"]),
        ({"consents": ["email", "phone"]}, ["Denis"]),
        ({"consents": ["sms"]}, ["Bruno"]),
        ({"consents": ["door"]}, []),
        ({"origin": {"contains": "IMPORT ps"}}, ["Bruno", "Chloé"]),
        ({"origin": {"equals": "import PS 2011"}}, ["Bruno"]),
        ({"created": {"after": "2024-01-10"}}, ["Alice", "Chloé", "Emma"]),
        ({"created": {"before": "2024-01-10"}}, ["Bruno", "Denis"]),
        # Dates are days in Paris: Chloé, created at 00:30 on 1 March, is "from 1 March".
        ({"created": {"after": "2024-03-01"}}, ["Chloé", "Emma"]),
        ({"created": {"after": "2024-01-11", "before": "2024-03-01"}}, []),
        ({"last_contact": {"after": "2024-04-01"}}, ["Alice"]),
        ({"last_contact": {"before": "2024-04-01"}}, ["Chloé"]),
        ({"has_email": True}, ["Alice", "Bruno", "Denis", "Emma"]),
        ({"has_email": False}, ["Chloé"]),
        ({"has_phone": False}, ["Bruno"]),
        ({"birth_year": {"min": 1975, "max": 1990}}, ["Alice", "Bruno"]),
        ({"birth_year": {"min": 1991}}, ["Emma"]),
        ({"birth_year": {"max": 1960}}, ["Denis"]),
        # Everything at once: criteria combine with AND.
        (
            {
                "status": ["sympathisant", "militant"],
                "tags": {"any": ["tractage"]},
                "territory": {"departements": ["04"]},
                "consents": ["email"],
            },
            ["Alice"],
        ),
    ],
)
def test_each_criterion_selects_exactly(population, hq_admin, definition, expected):
    assert selected(definition, hq_admin) == expected


def test_include_adds_members_and_exclude_removes_them(population, hq_admin, make_segment):
    gap = make_segment({"territory": {"communes": ["05061"]}})
    young = make_segment({"birth_year": {"min": 1985}})
    definition = {
        "status": ["militant"],
        "include_segments": [gap.pk, young.pk],
        "exclude_segments": [make_segment({"tags": {"any": ["elus"]}}).pk],
    }
    # (militant OR Gap OR born 1985+) AND NOT tagged "elus".
    assert selected(definition, hq_admin) == ["Alice", "Bruno", "Chloé"]


def test_a_definition_of_only_included_segments_is_their_union(population, hq_admin, make_segment):
    alice = make_segment({"territory": {"communes": ["04070"]}})
    denis = make_segment({"status": ["adherent"]})
    assert selected({"include_segments": [alice.pk, denis.pk]}, hq_admin) == ["Alice", "Denis"]


def test_excluding_people_without_birth_year_or_commune_keeps_them_out_of_the_negation(
    population, hq_admin, make_segment
):
    # NOT (born 1980+) must keep people whose birth year is unknown (Chloé), and NOT
    # (in 04) people without a commune (Emma): SQL's NULL must not swallow them.
    young = make_segment({"birth_year": {"min": 1980}})
    in_04 = make_segment({"territory": {"departements": ["04"]}})
    assert selected({"exclude_segments": [young.pk]}, hq_admin) == ["Bruno", "Chloé", "Denis"]
    assert selected({"exclude_segments": [in_04.pk]}, hq_admin) == ["Chloé", "Denis", "Emma"]


def test_excluding_an_everyone_segment_leaves_nobody(population, hq_admin, make_segment):
    everyone = make_segment({})
    assert selected({"exclude_segments": [everyone.pk]}, hq_admin) == []
    assert selected({"include_segments": [everyone.pk]}, hq_admin) == EVERYONE


def test_nested_segments_follow_their_current_definition(population, hq_admin, make_segment):
    from campagne.segments import actions

    inner = make_segment({"status": ["adherent"]})
    middle = make_segment({"include_segments": [inner.pk]})
    outer = make_segment({"include_segments": [middle.pk], "status": ["militant"]})
    scope = scope_for(hq_admin)
    assert names(outer.members(scope)) == ["Bruno", "Denis"]
    actions.update_segment(
        scope=scope, segment=inner, definition=Definition.model_validate({"status": ["contact"]})
    )
    assert names(outer.members(scope)) == ["Bruno", "Chloé", "Emma"]


# --- scope ------------------------------------------------------------------------------------
def test_members_never_reach_outside_the_users_scope(population, organizer_05, make_segment):
    segment = make_segment({"territory": {"departements": ["04"]}}, owner=organizer_05)
    assert segment.count(scope_for(organizer_05)) == 0
    assert names(segment.members(scope_for(organizer_05))) == []


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("hq_admin", ["Alice", "Bruno", "Chloé"]),
        ("hq_staff", ["Alice", "Bruno", "Chloé"]),
        ("organizer_04", ["Alice", "Bruno"]),
        ("organizer_digne", ["Alice"]),
        ("organizer_05", ["Chloé"]),
        ("volunteer", []),
    ],
)
def test_the_same_segment_counts_within_each_users_scope(
    request, population, make_segment, persona, expected
):
    segment = make_segment({"tags": {"any": ["tractage", "jeunes"]}})
    user = request.getfixturevalue(persona)
    assert names(segment.members(scope_for(user))) == expected
    assert segment.count(scope_for(user)) == len(expected)


# --- SQL --------------------------------------------------------------------------------------
def test_count_is_one_query_without_distinct(population, hq_admin, make_segment):
    segment = make_segment(
        {
            "status": ["sympathisant", "militant"],
            "tags": {"any": ["tractage", "jeunes"], "all": ["tractage"], "none": ["elus"]},
            "territory": {"departements": ["04", "05"]},
            "consents": ["email"],
        }
    )
    scope = scope_for(hq_admin)
    with CaptureQueriesContext(connection) as queries:
        assert segment.count(scope) == 1
    assert len(queries) == 1
    sql = queries[0]["sql"].upper()
    assert sql.startswith("SELECT COUNT(*)")
    assert "DISTINCT" not in sql
    # Tags and consents are EXISTS subqueries, not joins that would multiply rows.
    assert sql.count("EXISTS") == 4
    # The only join is to the person's commune (many-to-one: it cannot multiply rows).
    assert sql.count(" JOIN ") == 1
    assert 'INNER JOIN "TERRITORY_COMMUNE"' in sql


def test_count_costs_one_more_query_per_level_of_nested_segments(
    population, hq_admin, make_segment
):
    inner = make_segment({"status": ["adherent"]})
    middle = make_segment({"include_segments": [inner.pk]})
    outer = make_segment({"exclude_segments": [middle.pk]})
    scope = scope_for(hq_admin)
    with CaptureQueriesContext(connection) as queries:
        assert outer.count(scope) == 4
    assert len(queries) == 3


def test_a_cycle_found_while_counting_is_an_error_not_a_recursion(
    population, hq_admin, make_segment
):
    # Cycles are refused on saving; one written behind the actions' back must still fail
    # cleanly when counted.
    first = make_segment({})
    second = make_segment({"include_segments": [first.pk]})
    type(first).objects.filter(pk=first.pk).update(definition={"include_segments": [second.pk]})
    first.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        first.count(scope_for(hq_admin))
    assert "cycle" in caught.value.messages[0]
