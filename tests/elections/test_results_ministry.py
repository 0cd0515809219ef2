"""The Ministry's per-station layouts, 2017 to 2022: présidentielle, législatives,
départementales, municipales 2020, in their original renditions and their re-exports."""

import openpyxl
import pytest
from django.core.management.base import CommandError

from campagne.elections.models import (
    Candidate,
    Circonscription,
    Election,
    ElectionKind,
    PollingStation,
    StationResult,
)
from tests.elections.conftest import (
    DEPARTEMENTALES,
    LEGISLATIVES_2017,
    MUNICIPALES_2020,
    PRESIDENTIELLE_2022,
    kinds,
    run,
    write,
)

pytestmark = pytest.mark.django_db

PRES = "--kind", "presidentielle", "--year", "2022", "--round", "1"


def totals(inscrits, abstentions, votants, blancs, nuls, exprimes):
    """The 2017–2022 totals with their percentages (which the importer ignores)."""

    def pct(a, b):
        return f"{100 * a / b:.2f}".replace(".", ",") if b else "0,00"

    return [
        str(inscrits),
        str(abstentions),
        pct(abstentions, inscrits),
        str(votants),
        pct(votants, inscrits),
        str(blancs),
        pct(blancs, inscrits),
        pct(blancs, votants),
        str(nuls),
        pct(nuls, inscrits),
        pct(nuls, votants),
        str(exprimes),
        pct(exprimes, inscrits),
        pct(exprimes, votants),
    ]


def pres_block(panneau, sex, last, first, voix):
    return [str(panneau), sex, last, first, str(voix), "12,34", "45,67"]


def presidentielle_rows():
    """Three stations of Digne-les-Bains and one of Gap; Gap 0002 breaks two identities."""
    rows = []
    for dep, dep_name, commune, name, bv, counts, voix in [
        (
            "04",
            "Alpes-de-Haute-Provence",
            "070",
            "Digne-les-Bains",
            "0001",
            (1000, 250, 750, 10, 5, 735),
            (400, 335),
        ),
        (
            "04",
            "Alpes-de-Haute-Provence",
            "070",
            "Digne-les-Bains",
            "0002",
            (800, 300, 500, 0, 0, 500),
            (100, 400),
        ),
        ("05", "Hautes-Alpes", "061", "Gap", "0001", (600, 100, 500, 20, 10, 470), (270, 200)),
        # votants ≠ exprimés + blancs + nuls (470 + 20 + 20) and Σ voix ≠ exprimés.
        ("05", "Hautes-Alpes", "061", "Gap", "0002", (600, 100, 500, 20, 20, 470), (270, 199)),
    ]:
        rows.append(
            ";".join(
                [dep, dep_name, "01", "1ère circonscription", commune, name, bv]
                + totals(*counts)
                + pres_block(1, "M", "MACRON", "Emmanuel", voix[0])
                + pres_block(2, "F", "LE PEN", "Marine", voix[1])
            )
        )
    return rows


def test_presidentielle_2022_original_rendition(files):
    """cp1252, CRLF, decimal commas, only the first block named in the header."""
    path = write(
        files,
        "PR22_BVot_T1_FE.txt",
        [PRESIDENTIELLE_2022, *presidentielle_rows()],
        encoding="cp1252",
        newline="\r\n",
    )
    summary, stderr = run("results", path, *PRES)
    assert summary["rows"] == 4
    assert summary["stations"] == 4
    assert summary["candidates"] == 8
    assert summary["anomalies"] == 2
    assert kinds(summary) == {"voix": 1, "votants": 1}
    assert "[votants] ligne 5, bureau 05061_0002" in stderr
    assert "[voix] ligne 5, bureau 05061_0002 : somme des voix 469 ≠ exprimés 470" in stderr

    election = Election.objects.get()
    assert (election.kind, election.year, election.round) == ("presidentielle", 2022, 1)
    result = StationResult.objects.get(station_id="04070_0001")
    assert (result.inscrits, result.abstentions, result.votants) == (1000, 250, 750)
    assert (result.blancs, result.nuls, result.exprimes) == (10, 5, 735)
    macron = Candidate.objects.get(last_name="MACRON")
    assert (macron.panneau, macron.sex, macron.first_name) == (1, "M", "Emmanuel")
    assert result.votes_for([macron]) == 400
    assert macron.total_votes() == 400 + 100 + 270 + 270
    # The broken station is kept, as counted.
    broken = StationResult.objects.get(station_id="05061_0002")
    assert broken.check_identities() == ["votants", "voix"]
    station = PollingStation.objects.get(pk="05061_0002")
    assert (station.commune_id, station.departement_id, station.number) == ("05061", "05", "0002")
    assert station.circonscription_id == "05-01"
    assert Circonscription.objects.get(code="04-01").departement_id == "04"


def test_reimport_replaces_never_duplicates(files):
    path = write(files, "pres.csv", [PRESIDENTIELLE_2022, *presidentielle_rows()])
    first, _ = run("results", path, *PRES)
    second, _ = run("results", path, *PRES)
    assert (first["stations"], first["candidates"]) == (second["stations"], second["candidates"])
    assert StationResult.objects.count() == 4
    assert Candidate.objects.count() == 2
    assert PollingStation.objects.count() == 4
    # A corrected file replaces the values of its stations.
    rows = presidentielle_rows()
    rows[3] = rows[3].replace(
        ";270;12,34;45,67;2;F;LE PEN;Marine;199;", ";270;12,34;45,67;2;F;LE PEN;Marine;180;"
    )
    path = write(files, "pres.csv", [PRESIDENTIELLE_2022, *rows])
    run("results", path, *PRES)
    le_pen = Candidate.objects.get(last_name="LE PEN")
    assert StationResult.objects.get(station_id="05061_0002").votes_for([le_pen]) == 180
    assert StationResult.objects.count() == 4


def test_lost_zero_padding_and_renamed_blocks(files):
    """A pandas re-export: index column, "1" for "0001", "4" for "04", blocks renamed."""
    header = PRESIDENTIELLE_2022.split(";")
    renamed = header + [
        "Unnamed: 28",
        "Unnamed: 29",
        "Nom.1",
        "Prénom.1",
        "Voix.1",
        "Unnamed: 33",
        "Unnamed: 34",
    ]
    lines = [",".join(["", *renamed])]
    for index, row in enumerate(presidentielle_rows()[:2]):
        fields = row.split(";")
        fields[0], fields[4], fields[6] = "4", "70", str(int(fields[6]))
        lines.append(",".join([str(index), *[f'"{f}"' if "," in f else f for f in fields]]))
    path = write(files, "reexport.csv", lines)
    summary, _ = run("results", path, *PRES)
    assert summary["stations"] == 2
    assert summary["anomalies"] == 0
    assert set(StationResult.objects.values_list("station_id", flat=True)) == {
        "04070_0001",
        "04070_0002",
    }
    le_pen = Candidate.objects.get(last_name="LE PEN")
    assert StationResult.objects.get(station_id="04070_0002").votes_for([le_pen]) == 400


def test_xlsx_rendition_with_index_column(files):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Unnamed: 0", *PRESIDENTIELLE_2022.split(";")])
    for index, row in enumerate(presidentielle_rows()):
        fields = row.split(";")
        # Spreadsheets store numbers: the zero padding is gone.
        fields = [int(f) if f.isdigit() else f for f in fields]
        sheet.append([index, *fields])
    path = files / "resultats.xlsx"
    book.save(path)
    summary, _ = run("results", path, *PRES)
    assert summary["stations"] == 4
    assert summary["candidates"] == 8
    assert kinds(summary) == {"voix": 1, "votants": 1}
    assert StationResult.objects.get(station_id="04070_0001").exprimes == 735


def test_legislatives_variable_number_of_blocks(files):
    """Législatives: a Nuance per candidate, lines with 3 blocks and lines with 2."""
    lines = [
        LEGISLATIVES_2017,
        ";".join(
            ["04", "Alpes-de-Haute-Provence", "01", "1ère circonscription", "070", "Digne", "0001"]
            + totals(900, 400, 500, 5, 5, 490)
            + ["1", "M", "DUPONT", "Jean", "LFI", "200", "1", "2"]
            + ["2", "F", "DURAND", "Anne", "ENS", "190", "1", "2"]
            + ["3", "M", "MARTIN", "Paul", "RN", "100", "1", "2"]
        ),
        ";".join(
            ["04", "Alpes-de-Haute-Provence", "02", "2e circonscription", "112", "Manosque", "0001"]
            + totals(700, 300, 400, 0, 0, 400)
            + ["1", "F", "ROBERT", "Lucie", "UG", "250", "1", "2"]
            + ["2", "M", "PETIT", "Marc", "RN", "150", "1", "2"]
        ),
    ]
    path = write(files, "LG17_BVot_T1.txt", lines, encoding="cp1252", newline="\r\n")
    summary, _ = run("results", path, "--year", "2017", "--round", "1")
    assert summary["anomalies"] == 0
    assert summary["candidates"] == 5
    election = Election.objects.get()
    assert election.kind == ElectionKind.LEGISLATIVES  # from the layout (Nuance)
    assert set(Candidate.objects.values_list("contest", "panneau", "nuance")) == {
        ("04-01", 1, "LFI"),
        ("04-01", 2, "ENS"),
        ("04-01", 3, "RN"),
        ("04-02", 1, "UG"),
        ("04-02", 2, "RN"),
    }
    assert PollingStation.objects.get(pk="04112_0001").circonscription_id == "04-02"
    assert Circonscription.objects.get(code="04-02").name == "2e circonscription"


def test_departementales_canton_and_binome(files):
    lines = [
        DEPARTEMENTALES,
        ";".join(
            ["04", "Alpes-de-Haute-Provence", "07", "Digne-les-Bains-1", "070", "Digne", "0003"]
            + totals(500, 200, 300, 10, 10, 280)
            + ["1", "M. DUPONT Jean et Mme DURAND Anne", "BC-UG", "180", "1", "2"]
            + ["2", "Mme PETIT Léa et M. ROUX Marc", "BC-RN", "100", "1", "2"]
        ),
    ]
    path = write(files, "dpt.csv", lines, encoding="cp1252")
    summary, _ = run("results", path, "--year", "2021", "--round", "1")
    assert summary["anomalies"] == 0
    assert Election.objects.get().kind == ElectionKind.DEPARTEMENTALES
    binome = Candidate.objects.get(panneau=1)
    assert binome.last_name == "M. DUPONT Jean et Mme DURAND Anne"
    assert (binome.nuance, binome.contest) == ("BC-UG", "04-07")


def test_municipales_2020_tabs_latin1_and_stray_tabs(files):
    block1 = ["1", "LDVG", "M", "DUPONT", "Jean", "Digne Ensemble", "300", "30,00", "60,00"]
    block2 = ["2", "LDVD", "F", "MARTIN", "Zoé", "Digne Avenir", "200", "20,00", "40,00"]
    base = ["04", "Alpes-de-Haute-Provence", "070", "Digne-les-Bains"]
    lines = [
        MUNICIPALES_2020,
        "\t".join([*base, "0001", *totals(1000, 490, 510, 5, 5, 500), *block1, *block2]),
        # A line with stray extra tabs at its end (as some lines of the real file have).
        "\t".join([*base, "0002", *totals(900, 500, 400, 0, 0, 400), *block1, *block2])
        .replace("\t300\t", "\t250\t")
        .replace("\t200\t", "\t150\t")
        + "\t\t\t",
    ]
    path = write(files, "resultats-bv.txt", lines, encoding="latin-1")
    summary, stderr = run("results", path, "--round", "1")
    assert summary["anomalies"] == 0, stderr
    election = Election.objects.get()
    assert (election.kind, election.year) == (ElectionKind.MUNICIPALES, 2020)
    zoe = Candidate.objects.get(first_name="Zoé")
    assert (zoe.list_short_label, zoe.nuance, zoe.contest) == ("Digne Avenir", "LDVD", "04-070")
    assert StationResult.objects.get(station_id="04070_0002").votes_for([zoe]) == 150


def test_overseas_letter_codes_and_abroad(files):
    def row(dep, name, commune, bv):
        return ";".join(
            [dep, name, "01", "1ère circonscription", commune, "x", bv]
            + totals(100, 50, 50, 0, 0, 50)
            + pres_block(1, "M", "MACRON", "Emmanuel", 50)
        )

    lines = [
        PRESIDENTIELLE_2022,
        row("ZA", "Guadeloupe", "101", "0001"),
        row("ZM", "Mayotte", "508", "0001"),  # Dzaoudzi under its pre-2011 number
        row("2A", "Corse-du-Sud", "004", "0001"),
        row("ZX", "Saint-Martin/Saint-Barthélemy", "701", "0001"),
        row("ZZ", "Français établis hors de France", "229", "0001"),
    ]
    path = write(files, "outremer.csv", lines, encoding="cp1252")
    summary, stderr = run("results", path, *PRES)
    assert summary["stations"] == 5
    assert kinds(summary) == {"commune_inconnue": 2}
    stations = dict(PollingStation.objects.values_list("id", "commune_id"))
    assert stations == {
        "97101_0001": "97101",
        "97608_0001": "97608",
        "2A004_0001": "2A004",
        "97701_0001": None,  # Saint-Barthélemy: outside the COG, kept for HQ's totals
        "ZZ229_0001": None,
    }
    assert "commune 97701 absente du Code officiel géographique" in stderr
    assert StationResult.objects.count() == 5


def test_old_commune_code_is_mapped_to_the_current_commune(files):
    """Rignat (01324) merged into Bohas-Meyriat-Rignat (01245): the key stays as published."""
    line = ";".join(
        ["01", "Ain", "05", "5ème circonscription", "324", "Rignat", "0001"]
        + totals(150, 50, 100, 0, 0, 100)
        + pres_block(1, "M", "MACRON", "Emmanuel", 100)
    )
    path = write(files, "ain.csv", [PRESIDENTIELLE_2022, line])
    summary, _ = run("results", path, *PRES)
    assert summary["communes_remapped"] == 1
    assert summary["anomalies"] == 0
    station = PollingStation.objects.get(pk="01324_0001")
    assert (station.commune_id, station.departement_id) == ("01245", "01")
    assert station.commune_code == "01324"


def test_station_twice_with_different_totals_is_reported(files):
    rows = presidentielle_rows()
    duplicate = rows[0].replace(";1000;250;", ";1001;251;")
    path = write(files, "dup.csv", [PRESIDENTIELLE_2022, rows[0], duplicate])
    summary, stderr = run("results", path, *PRES)
    assert kinds(summary) == {"bureau_en_double": 1}
    assert "ligne 3, bureau 04070_0001" in stderr
    assert StationResult.objects.get().inscrits == 1000


def test_file_that_does_not_say_its_election_asks_for_options(files):
    path = write(files, "sans-nom.csv", [PRESIDENTIELLE_2022, *presidentielle_rows()])
    with pytest.raises(CommandError) as error:
        run("results", path)
    assert str(error.value) == (
        "Le fichier ne dit pas de quelle élection il s'agit : précisez --year --round."
    )
    assert not StationResult.objects.exists()


def test_a_file_read_in_many_chunks(files, monkeypatch):
    """Small chunks: stations written chunk by chunk, a duplicate across chunks reported."""
    from campagne.elections import actions
    from campagne.elections.importers import source

    monkeypatch.setattr(source, "CHUNK_BYTES", 300)
    rows = presidentielle_rows()
    duplicate = rows[0].replace(";1000;250;", ";1001;251;")
    path = write(files, "pres.csv", [PRESIDENTIELLE_2022, *rows, rows[1], duplicate])
    seen = []
    job = actions.run_import(
        kind="results",
        path=path,
        options={"kind": "presidentielle", "year": 2022, "round": 1},
        progress=lambda rows, fraction: seen.append((rows, fraction)),
    )
    summary = job.summary
    assert summary["rows"] == 6
    assert summary["stations"] == 4
    assert summary["candidates"] == 8
    assert kinds(summary) == {"bureau_en_double": 1, "voix": 1, "votants": 1}
    assert [entry["line"] for entry in job.anomalies if entry["kind"] == "bureau_en_double"] == [7]
    assert len(seen) > 3  # one report per chunk
    assert seen[-1] == (6, 1.0)
    assert StationResult.objects.get(station_id="04070_0001").inscrits == 1000
