"""Reloading France (`campagne territory load`): idempotent, repairs, keeps what people use."""

import json
from io import StringIO

from django.core.management import call_command

from campagne.territory.models import Arrondissement, Commune, Departement, PostalCode, Region
from tests.factories import PersonFactory


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Region, Departement, Arrondissement, Commune, PostalCode)
    }


def test_reload_is_idempotent_repairs_and_keeps_stale_communes(db):
    before = table_counts()
    digne = Commune.objects.get(code="04070")
    person = PersonFactory(commune=digne)
    Commune.objects.filter(code="04070").update(
        name="Digne", search_name="digne", population=1, latitude=None, longitude=None
    )
    PostalCode.objects.filter(code="04000").delete()
    PostalCode.objects.create(code="04999", commune=digne)  # not La Poste's
    # A commune the COG no longer has, still used by a person: kept, and counted.
    gone = Commune.objects.create(
        code="04999", name="Ancienne", search_name="ancienne", departement_id="04"
    )
    PersonFactory(commune=gone)

    out = StringIO()
    call_command("territory", "load", stdout=out)

    summary = json.loads(out.getvalue())
    seconds = summary.pop("seconds")
    assert seconds < 15, f"loading France took {seconds} s"
    assert summary == {
        "regions": 18,
        "departements": 101,
        "arrondissements": 333,
        "communes": 34_920,
        "communes_with_population": 34_903,
        "communes_with_point": 34_917,
        "stale_communes": 1,
        "postal_codes": 35_366,
        # Digne and the four communes of 04000; nothing else is written again.
        "rows_written": 5,
        "postal_codes_removed": 1,
    }
    assert table_counts() == {**before, "Commune": before["Commune"] + 1}
    digne.refresh_from_db()
    assert (digne.name, digne.search_name, digne.population) == (
        "Digne-les-Bains",
        "digne les bains",
        17_979,
    )
    assert (digne.latitude, digne.longitude) == (44.0908723554, 6.23590323452)
    assert set(Commune.objects.for_postcode("04000").values_list("code", flat=True)) == {
        "04070",
        "04074",
        "04097",
        "04167",
    }
    assert Commune.objects.filter(code="04999").exists()
    assert not PostalCode.objects.filter(code="04999").exists()
    person.refresh_from_db()
    assert person.commune_id == "04070"
