"""Saving segments: checked definitions, cycles refused, deletion protected, roles."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from campagne.accounts.scopes import scope_for
from campagne.segments import actions
from campagne.segments.definition import Definition
from campagne.segments.models import Segment, SegmentLink


def definition(**data) -> Definition:
    return Definition.model_validate(data)


def state() -> list[tuple]:
    """Every segment and link as stored: what a refused write must leave untouched."""
    return [
        *Segment.objects.order_by("pk").values_list(
            "pk", "name", "description", "definition", "updated_at"
        ),
        *SegmentLink.objects.order_by("pk").values_list("segment_id", "target_id", "kind"),
    ]


def test_organizer_creates_a_segment_they_own(organizer_04, population):
    segment = actions.create_segment(
        scope=scope_for(organizer_04),
        name="  Militants   du 04 ",
        description="Pour la réunion de rentrée",
        definition=definition(status=["militant"], tags={"any": ["TRACTAGE"]}),
    )
    segment.refresh_from_db()
    assert segment.owner == organizer_04
    assert segment.name == "Militants du 04"
    # Tags are matched ignoring case and stored as they are spelled on people.
    assert segment.definition == {"status": ["militant"], "tags": {"any": ["tractage"]}}
    assert segment.count(scope_for(organizer_04)) == 1


def test_definition_json_is_compact_and_reads_back(hq_admin, population):
    segment = actions.create_segment(
        scope=scope_for(hq_admin),
        name="Jeunes de Gap",
        definition=definition(
            territory={"communes": ["05061"], "departements": ["2a"]},
            created={"after": "2024-01-01"},
            has_email=False,
        ),
    )
    assert segment.definition == {
        "territory": {"departements": ["2A"], "communes": ["05061"]},
        "created": {"after": "2024-01-01"},
        "has_email": False,
    }
    assert segment.criteria.territory.departements == ["2A"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"tags": {"all": ["tractage", "inconnue"]}}, "tags", "Étiquette inconnue : inconnue."),
        ({"territory": {"departements": ["99"]}}, "departements", "Département inconnu : 99."),
        ({"territory": {"communes": ["04999"]}}, "communes", "Commune inconnue : 04999."),
        ({"territory": {"regions": ["00"]}}, "regions", "Région inconnue : 00."),
        ({"include_segments": [987654]}, "segments", "Segment introuvable : 987654."),
    ],
)
def test_unknown_references_are_refused_with_a_clear_message(
    hq_admin, population, data, field, message
):
    with pytest.raises(ValidationError) as caught:
        actions.create_segment(scope=scope_for(hq_admin), name="X", definition=definition(**data))
    assert caught.value.message_dict == {field: [message]}
    assert Segment.objects.count() == 0


def test_a_name_is_required(hq_admin):
    with pytest.raises(ValidationError) as caught:
        actions.create_segment(scope=scope_for(hq_admin), name="   ", definition=definition())
    assert caught.value.message_dict == {"name": ["Donnez un nom au segment."]}
    assert Segment.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [
        {"status": ["président"]},
        {"territory": {"communes": ["4070"]}},
        {"created": {"after": "2024-03-01", "before": "2024-03-01"}},
        {"birth_year": {"min": 1990, "max": 1980}},
        {"include_segments": [1], "exclude_segments": [1]},
        {"tags": {"some": ["x"]}},
        {"consents": ["pigeon"]},
    ],
)
def test_the_schema_refuses_malformed_definitions(data):
    with pytest.raises(ValueError):
        Definition.model_validate(data)


def test_an_organizer_cannot_use_someone_elses_segment(organizer_04, organizer_05, make_segment):
    theirs = make_segment({}, owner=organizer_05)
    before = state()
    with pytest.raises(ValidationError) as caught:
        actions.create_segment(
            scope=scope_for(organizer_04),
            name="Avec celui d'un autre",
            definition=definition(exclude_segments=[theirs.pk]),
        )
    assert caught.value.message_dict == {"segments": [f"Segment introuvable : {theirs.pk}."]}
    assert state() == before


def test_links_mirror_the_definition(hq_admin, make_segment):
    first, second, third = make_segment({}), make_segment({}), make_segment({})
    segment = make_segment({"include_segments": [first.pk], "exclude_segments": [second.pk]})
    assert set(segment.links.values_list("target_id", "kind")) == {
        (first.pk, "include"),
        (second.pk, "exclude"),
    }
    actions.update_segment(
        scope=scope_for(hq_admin),
        segment=segment,
        definition=definition(include_segments=[third.pk]),
    )
    assert set(segment.links.values_list("target_id", "kind")) == {(third.pk, "include")}


# --- cycles -----------------------------------------------------------------------------------
def test_a_segment_cannot_include_itself(hq_admin, make_segment):
    segment = make_segment({"status": ["militant"]})
    before = state()
    with pytest.raises(ValidationError) as caught:
        actions.update_segment(
            scope=scope_for(hq_admin),
            segment=segment,
            definition=definition(include_segments=[segment.pk]),
        )
    assert "cycle" in caught.value.message_dict["segments"][0]
    assert state() == before


@pytest.mark.parametrize("kind", ["include_segments", "exclude_segments"])
def test_a_cycle_through_other_segments_is_refused(hq_admin, make_segment, kind):
    first = make_segment({"status": ["militant"]}, name="Premier")
    second = make_segment({"include_segments": [first.pk]}, name="Deuxième")
    third = make_segment({"exclude_segments": [second.pk]}, name="Troisième")
    before = state()
    with pytest.raises(ValidationError) as caught:
        actions.update_segment(
            scope=scope_for(hq_admin), segment=first, definition=definition(**{kind: [third.pk]})
        )
    assert caught.value.message_dict == {
        "segments": [
            "Ce segment se retrouverait dans ses propres segments inclus ou exclus (cycle) : "
            "retirez ce renvoi."
        ]
    }
    assert state() == before


def test_the_same_segment_reached_twice_is_not_a_cycle(hq_admin, population, make_segment):
    base = make_segment({"status": ["militant"]})
    left = make_segment({"include_segments": [base.pk]})
    right = make_segment({"include_segments": [base.pk]})
    both = make_segment({"include_segments": [left.pk], "exclude_segments": [right.pk]})
    assert both.count(scope_for(hq_admin)) == 0


# --- update and delete ------------------------------------------------------------------------
def test_update_changes_only_what_is_given(hq_admin, make_segment):
    segment = make_segment({"status": ["militant"]}, name="Avant")
    actions.update_segment(scope=scope_for(hq_admin), segment=segment, description="Nouveau texte")
    segment.refresh_from_db()
    assert (segment.name, segment.description, segment.definition) == (
        "Avant",
        "Nouveau texte",
        {"status": ["militant"]},
    )


def test_a_segment_used_by_another_cannot_be_deleted(hq_admin, make_segment):
    used = make_segment({}, name="Utilisé")
    make_segment({"exclude_segments": [used.pk]}, name="Utilisateur")
    before = state()
    with pytest.raises(ValidationError) as caught:
        actions.delete_segment(scope=scope_for(hq_admin), segment=used)
    assert caught.value.messages == [
        "Ce segment est utilisé ailleurs : retirez-le d'abord de ce qui l'utilise. "
        "Utilisé par : Utilisateur."
    ]
    assert state() == before


def test_deleting_a_segment_removes_its_own_links(hq_admin, make_segment):
    target = make_segment({})
    user = make_segment({"include_segments": [target.pk]})
    actions.delete_segment(scope=scope_for(hq_admin), segment=user)
    assert list(Segment.objects.values_list("pk", flat=True)) == [target.pk]
    assert SegmentLink.objects.count() == 0
    actions.delete_segment(scope=scope_for(hq_admin), segment=target)
    assert Segment.objects.count() == 0


@pytest.mark.parametrize("persona", ["hq_staff", "volunteer"])
def test_read_only_roles_cannot_write_segments(request, persona, make_segment):
    segment = make_segment({"status": ["militant"]})
    scope = scope_for(request.getfixturevalue(persona))
    before = state()
    with pytest.raises(PermissionDenied):
        actions.create_segment(scope=scope, name="Non", definition=definition())
    with pytest.raises(PermissionDenied):
        actions.update_segment(scope=scope, segment=segment, name="Non")
    with pytest.raises(PermissionDenied):
        actions.delete_segment(scope=scope, segment=segment)
    assert state() == before


def test_nesting_deeper_than_the_limit_is_refused(hq_admin, make_segment):
    from campagne.segments.models import MAX_DEPTH

    segment = make_segment({"status": ["militant"]})
    # MAX_DEPTH levels of segments below the last one: allowed.
    for _ in range(MAX_DEPTH):
        segment = make_segment({"include_segments": [segment.pk]})
    before = state()
    with pytest.raises(ValidationError) as caught:
        make_segment({"include_segments": [segment.pk]})
    assert caught.value.message_dict == {
        "segments": [f"Trop de niveaux de segments imbriqués ({MAX_DEPTH} au plus)."]
    }
    assert state() == before
