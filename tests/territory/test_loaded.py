"""`migrate` loads all of France: the data migration ran on this test database."""

from django.db.models import Sum

from campagne.territory.models import Arrondissement, Commune, Departement, PostalCode, Region


def test_all_of_france_is_loaded(db):
    assert Region.objects.count() == 18
    assert Departement.objects.count() == 101
    assert Arrondissement.objects.count() == 333
    # COG 2026: 34,875 communes and the 45 municipal arrondissements of Paris, Lyon, Marseille.
    assert Commune.objects.filter(parent__isnull=True).count() == 34_875
    assert Commune.objects.filter(parent__isnull=False).count() == 45
    # Only Mayotte's 17 communes have no population légale in INSEE's file.
    assert Commune.objects.filter(population__isnull=True).count() == 17
    assert set(
        Commune.objects.filter(population__isnull=True).values_list("departement_id", flat=True)
    ) == {"976"}
    # La Poste's file gives no point for Bihorel, Culey and Saint-Lucien.
    assert set(Commune.objects.filter(latitude__isnull=True).values_list("code", flat=True)) == {
        "76095",
        "55138",
        "76601",
    }
    assert PostalCode.objects.count() == 35_366


def test_digne_les_bains(db):
    digne = Commune.objects.select_related("departement__region").get(code="04070")
    assert digne.name == "Digne-les-Bains"
    assert digne.search_name == "digne les bains"
    assert digne.population == 17_979
    assert (digne.latitude, digne.longitude) == (44.0908723554, 6.23590323452)
    assert digne.departement.code == "04"
    assert digne.departement.region.name == "Provence-Alpes-Côte d'Azur"
    assert digne.arrondissement.name == "Digne-les-Bains"
    assert list(digne.postal_codes.values_list("code", "place_name")) == [
        ("04000", "DIGNE LES BAINS")
    ]


def test_municipal_arrondissements_and_their_city(db):
    paris = Commune.objects.get(code="75056")
    districts = Commune.objects.filter(parent=paris)
    assert districts.count() == 20
    assert districts.aggregate(total=Sum("population"))["total"] == paris.population == 2_103_778
    # The city's point is the mean of its arrondissements': in the middle of Paris.
    assert 48.85 < paris.latitude < 48.87 and 2.33 < paris.longitude < 2.36
    assert Commune.objects.filter(parent_id="69123").count() == 9
    assert Commune.objects.filter(parent_id="13055").count() == 16
    eleventh = Commune.objects.get(code="75111")
    assert eleventh.name == "Paris 11e Arrondissement"
    assert list(eleventh.postal_codes.values_list("code", flat=True)) == ["75011"]


def test_commune_whose_code_changed_gets_the_old_codes_point_and_postcodes(db):
    # Conques-en-Rouergue moved from 12076 to 12218 in 2024; La Poste still files 12076.
    conques = Commune.objects.get(code="12218")
    assert (conques.latitude, conques.longitude) == (44.5952473002, 2.4201643341)
    assert list(conques.postal_codes.values_list("code", flat=True)) == ["12320"]
    assert not Commune.objects.filter(code="12076").exists()


def test_merged_commune_keeps_its_own_point_and_its_former_communes_names(db):
    # Bernoy-le-Château (2023) = Noyant-et-Aconin (02564, its code) + Berzy-le-Sec (02077).
    bernoy = Commune.objects.get(code="02564")
    assert (bernoy.latitude, bernoy.longitude) == (49.3319620657, 3.33416303776)
    postcode = bernoy.postal_codes.get()
    assert postcode.code == "02200"
    assert postcode.place_name == "NOYANT ET ACONIN"
    assert set(postcode.search_names.split("|")) == {"noyant et aconin", "berzy le sec"}
    assert not Commune.objects.filter(code="02077").exists()


def test_restored_commune_gets_a_postcode_and_leaves_the_one_it_left(db):
    # L'Oie left Essarts-en-Bocage in 2024; La Poste files it as a place of 85084.
    oie = Commune.objects.get(code="85165")
    assert list(oie.postal_codes.values_list("code", "search_names")) == [("85140", "l oie")]
    assert oie.latitude is not None
    essarts = PostalCode.objects.get(code="85140", commune_id="85084")
    assert set(essarts.search_names.split("|")) == {"essarts en bocage", "les essarts", "boulogne"}
