"""2024 files (real extracts and synthetic européennes), 2012/2014 headerless files,
data.gouv's aggregated long files and Paris' open data export."""

import pytest
from django.core.management.base import CommandError

from campagne.elections.models import (
    Candidate,
    Election,
    ElectionKind,
    PollingStation,
    StationResult,
)
from tests.elections.conftest import (
    DATA,
    DATAGOUV_CANDIDATS,
    DATAGOUV_GENERAL,
    PARIS,
    europeennes_2024,
    kinds,
    legislatives_2024,
    run,
    write,
)

pytestmark = pytest.mark.django_db


def test_legislatives_2024_real_extract_with_lost_padding():
    """circos23-tour1.csv: 201 Finistère stations, "Code BV" written "1" for "0001"."""
    summary, _ = run("results", DATA / "circos23-tour1.csv", "--year", "2024")
    assert summary["rows"] == 201
    assert summary["stations"] == 201
    assert summary["anomalies"] == 0
    assert summary["candidates"] == 1798
    election = Election.objects.get()
    assert (election.kind, election.year, election.round) == (ElectionKind.LEGISLATIVES, 2024, 1)
    # First line: Bohars, 997 inscrits, 787 votants, 210 abstentions, 776 exprimés.
    bohars = StationResult.objects.get(station_id="29011_0001")
    assert (bohars.inscrits, bohars.votants, bohars.abstentions) == (997, 787, 210)
    assert (bohars.exprimes, bohars.blancs, bohars.nuls) == (776, 8, 3)
    cadalen = Candidate.objects.get(last_name="CADALEN")
    assert (cadalen.nuance, cadalen.panneau, cadalen.sex) == ("UG", 7, "M")
    assert bohars.votes_for([cadalen]) == 223
    assert PollingStation.objects.filter(commune_id="29019").count() == 104  # Brest


def test_legislatives_2024_real_xlsx_with_index_and_extra_columns():
    """The XLSX re-export: index column first, computed columns after the 19 blocks."""
    summary, _ = run("results", DATA / "legislatives2024_t1_9213.xlsx")
    assert summary["stations"] == 92
    assert summary["anomalies"] == 0
    assert Election.objects.get().kind == ElectionKind.LEGISLATIVES  # from the file name
    antony = StationResult.objects.get(station_id="92002_0001")
    assert (antony.inscrits, antony.votants, antony.exprimes) == (965, 797, 789)
    bregeon = Candidate.objects.get(last_name="BREGEON")
    assert antony.votes_for([bregeon]) == 378
    assert sorted(v for _c, v in antony.candidate_votes()) == [1, 8, 12, 46, 107, 237, 378]


def test_both_2024_extracts_go_to_one_election_without_erasing_each_other():
    run("results", DATA / "circos23-tour1.csv", "--year", "2024")
    run("results", DATA / "legislatives2024_t1_9213.xlsx")
    assert Election.objects.count() == 1
    assert StationResult.objects.count() == 201 + 92
    run("results", DATA / "legislatives2024_t1_9213.xlsx")
    assert StationResult.objects.count() == 201 + 92
    assert Candidate.objects.count() == 18 + 7


def test_europeennes_2024_localisation_code_and_percent_signs(files):
    def block(n, nuance, short, label, voix):
        return [str(n), nuance, short, label, str(voix), "12,00%", "45,12%", "0"]

    totals = [
        "600",
        "400",
        "66,67%",
        "200",
        "33,33%",
        "390",
        "65,00%",
        "97,50%",
        "6",
        "1,00%",
        "1,50%",
        "4",
        "0,67%",
        "1,00%",
    ]
    lines = [
        europeennes_2024(3),
        ";".join(
            [
                "04070_0001",
                "Digne-les-Bains 1",
                *totals,
                *block(5, "LUG", "GLUCKSMANN", "Réveiller l'Europe", 150),
                *block(3, "LRN", "BARDELLA", "La France revient !", 240),
            ]
        ),
        ";".join(
            [
                "04070_0002",
                "Digne-les-Bains 2",
                *totals,
                *block(5, "LUG", "GLUCKSMANN", "Réveiller l'Europe", 190),
                *block(3, "LRN", "BARDELLA", "La France revient !", 200),
            ]
        ),
    ]
    path = write(files, "resultats-definitifs-par-bureau-de-vote.csv", lines)
    summary, _ = run("results", path, "--year", "2024", "--round", "1")
    assert summary["anomalies"] == 0
    assert Election.objects.get().kind == ElectionKind.EUROPEENNES
    lists = Candidate.objects.order_by("panneau")
    assert [(c.panneau, c.nuance, c.list_short_label) for c in lists] == [
        (3, "LRN", "BARDELLA"),
        (5, "LUG", "GLUCKSMANN"),
    ]
    assert lists[1].list_label == "Réveiller l'Europe"
    second = StationResult.objects.get(station_id="04070_0002")
    assert (second.inscrits, second.votants, second.abstentions) == (600, 400, 200)
    assert second.votes_for(lists) == 390


def test_headerless_2012_one_line_per_candidate_both_rounds(files):
    rows = [
        # tour;dep;commune;nom;circo;canton;bv;inscrits;votants;exprimés;dépôt;nom;prénom;nuance;voix  # noqa: E501 - a verbatim data line
        "1;04;70;Digne-les-Bains;1;7;1;1000;700;680;3;DUPONT;Jean;SOC;400",
        "1;04;70;Digne-les-Bains;1;7;1;1000;700;680;5;MARTIN;Marie;UMP;280",
        "1;04;70;Digne-les-Bains;1;7;2;800;500;490;3;DUPONT;Jean;SOC;300",
        "1;04;70;Digne-les-Bains;1;7;2;800;500;490;5;MARTIN;Marie;UMP;190",
        "2;04;70;Digne-les-Bains;1;7;1;1000;720;700;3;DUPONT;Jean;SOC;410",
        "2;04;70;Digne-les-Bains;1;7;1;1000;720;700;5;MARTIN;Marie;UMP;290",
    ]
    path = write(files, "LG12_BV_T1T2.txt", rows, encoding="cp1252", newline="\r\n")
    summary, _ = run("results", path, "--kind", "legislatives", "--year", "2012")
    assert summary["anomalies"] == 0
    assert summary["stations"] == 3
    assert summary["candidates"] == 6
    first, second = Election.objects.order_by("round")
    assert (first.round, second.round) == (1, 2)
    result = StationResult.objects.get(election=first, station_id="04070_0001")
    assert (result.inscrits, result.votants, result.exprimes) == (1000, 700, 680)
    assert result.abstentions == 300  # derived: the file gives inscrits and votants
    assert (result.blancs, result.nuls, result.blancs_nuls) == (None, None, 20)
    dupont = Candidate.objects.get(election=second, last_name="DUPONT")
    assert (dupont.panneau, dupont.nuance, dupont.contest) == (3, "SOC", "04-01")
    assert StationResult.objects.get(election=second).votes_for([dupont]) == 410


def test_datagouv_general_and_candidats_in_one_command(files):
    general = write(
        files,
        "general_results.csv",
        [
            DATAGOUV_GENERAL,
            "2022_pres_t1;04070_0001;04;Alpes-de-Haute-Provence;;;04070;Digne-les-Bains;01;"
            "1ère circonscription;0001;1000;250;750;10;5;735;25.0;75.0",
            "2022_pres_t2;04070_0001;04;Alpes-de-Haute-Provence;;;04070;Digne-les-Bains;01;"
            "1ère circonscription;0001;1000;300;700;30;10;660;30.0;70.0",
        ],
    )
    candidats = write(
        files,
        "candidats_results.csv",
        [
            DATAGOUV_CANDIDATS,
            "2022_pres_t1;04070_0001;04;AHP;04070;Digne;0001;3;400;40.0;54.4;ENS;M;MACRON;Emmanuel;;;",  # noqa: E501 - a verbatim data line
            "2022_pres_t1;04070_0001;04;AHP;04070;Digne;0001;5;335;33.5;45.6;RN;F;LE PEN;Marine;;;",
            "2022_pres_t2;04070_0001;04;AHP;04070;Digne;0001;1;380;38.0;57.6;ENS;M;MACRON;Emmanuel;;;",  # noqa: E501 - a verbatim data line
            "2022_pres_t2;04070_0001;04;AHP;04070;Digne;0001;2;280;28.0;42.4;RN;F;LE PEN;Marine;;;",
            "2022_pres_t2;05061_0001;05;HA;05061;Gap;0001;1;100;;;ENS;M;MACRON;Emmanuel;;;",
        ],
    )
    # Candidates first on the command line: the command imports the totals first anyway.
    summary, stderr = run("results", candidats, general)
    assert summary["anomalies"] == 1
    assert "[resultat_absent] ligne 6, bureau 05061_0001" in stderr
    t1 = Election.objects.get(kind="presidentielle", year=2022, round=1)
    t2 = Election.objects.get(round=2)
    result = StationResult.objects.get(election=t2)
    assert (result.votants, result.blancs, result.exprimes) == (700, 30, 660)
    macron_t1 = Candidate.objects.get(election=t1, last_name="MACRON")
    assert StationResult.objects.get(election=t1).votes_for([macron_t1]) == 400
    assert macron_t1.nuance == "ENS"
    # Re-importing the totals alone keeps the votes.
    run("results", general)
    assert StationResult.objects.get(election=t1).votes_for([macron_t1]) == 400


def test_paris_open_data_per_station_export(files):
    polygon = (
        '"{""coordinates"": [[[2.29, 48.84], [2.30, 48.84], [2.30, 48.85], [2.29, 48.85], '
        '[2.29, 48.84]]], ""type"": ""Polygon""}"'
    )
    lines = [
        PARIS,
        f"15-49;Présidentielle;2022;1;2022-04-10;13;57;15;49;12;1200;900;900;10;5;885;400;185;300;{polygon};48.845, 2.295",  # noqa: E501 - a verbatim data line
        f"5-3;Présidentielle;2022;1;2022-04-10;2;18;5;3;3;800;600;600;5;5;590;300;90;200;{polygon};48.845, 2.295",  # noqa: E501 - a verbatim data line
    ]
    path = write(files, "resultats-electoraux.csv", lines)
    summary, _ = run("results", path)
    assert summary["anomalies"] == 0
    election = Election.objects.get()
    assert (election.kind, election.year, election.round) == (ElectionKind.PRESIDENTIELLE, 2022, 1)
    assert str(election.date) == "2022-04-10"
    station = PollingStation.objects.get(pk="75115_0049")
    assert station.commune_id == "75115"
    assert station.circonscription_id == "75-13"
    assert station.polygon["type"] == "Polygon"
    assert station.latitude == pytest.approx(48.845)
    assert station.longitude == pytest.approx(2.295)
    assert PollingStation.objects.filter(pk="75105_0003").exists()
    result = StationResult.objects.get(station=station)
    assert (result.inscrits, result.votants, result.abstentions, result.exprimes) == (
        1200,
        900,
        300,
        885,
    )
    melenchon = Candidate.objects.get(last_name="MÉLENCHON")
    assert (melenchon.first_name, melenchon.panneau) == ("Jean-Luc", 3)
    assert result.votes_for([melenchon]) == 300


def test_unknown_file_is_refused_with_one_line(files):
    path = write(files, "notes.csv", ["nom;prénom;ville", "Martin;Jeanne;Digne"])
    with pytest.raises(CommandError) as error:
        run("results", path, "--year", "2022")
    message = str(error.value)
    assert message.startswith("Fichier de résultats non reconnu")
    assert "\n" not in message
    assert not Election.objects.exists()


def test_binary_and_empty_files_are_refused(files):
    empty = write(files, "vide.csv", [""])
    with pytest.raises(CommandError, match="Fichier vide"):
        run("results", empty, "--year", "2022")
    binary = files / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(CommandError, match="pas un fichier texte"):
        run("results", binary)


def test_summary_counts_and_kinds_of_anomalies_on_bad_totals(files):
    lines = [
        legislatives_2024(1),
        # inscrits ≠ votants + abstentions; unreadable voix.
        "04;AHP;04070;Digne;1;1000;700;70%;299;30%;690;69%;98%;5;0%;0%;5;0%;0%;1;UG;DUPONT;Jean;M;x;;;",  # noqa: E501 - a verbatim data line
        # inscrits missing: the row cannot be stored and says so.
        "04;AHP;04070;Digne;2;;700;70%;300;30%;690;69%;98%;5;0%;0%;5;0%;0%;1;UG;DUPONT;Jean;M;690;;;",  # noqa: E501 - a verbatim data line
    ]
    path = write(files, "legislatives-2024.csv", lines)
    summary, stderr = run("results", path, "--round", "1")
    assert kinds(summary) == {"inscrits": 1, "totaux_illisibles": 1, "voix_illisibles": 1}
    assert "[totaux_illisibles] ligne 3, bureau 04070_0002" in stderr
    assert StationResult.objects.get().station_id == "04070_0001"
