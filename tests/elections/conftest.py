"""Helpers of the election import tests: write a file in a given rendition, run the command."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

DATA = Path(__file__).parent / "data"

# Verbatim first lines of the official layouts (from the issue), ";"-separated.
PRESIDENTIELLE_2022 = (
    "Code du département;Libellé du département;Code de la circonscription;"
    "Libellé de la circonscription;Code de la commune;Libellé de la commune;Code du b.vote;"
    "Inscrits;Abstentions;% Abs/Ins;Votants;% Vot/Ins;Blancs;% Blancs/Ins;% Blancs/Vot;Nuls;"
    "% Nuls/Ins;% Nuls/Vot;Exprimés;% Exp/Ins;% Exp/Vot;N°Panneau;Sexe;Nom;Prénom;Voix;"
    "% Voix/Ins;% Voix/Exp"
)
TOTALS_2017 = (
    "Inscrits;Abstentions;% Abs/Ins;Votants;% Vot/Ins;Blancs;% Blancs/Ins;% Blancs/Vot;Nuls;"
    "% Nuls/Ins;% Nuls/Vot;Exprimés;% Exp/Ins;% Exp/Vot"
)
LEGISLATIVES_2017 = (
    "Code du département;Libellé du département;Code de la circonscription;"
    "Libellé de la circonscription;Code de la commune;Libellé de la commune;Code du b.vote;"
    f"{TOTALS_2017};N°Panneau;Sexe;Nom;Prénom;Nuance;Voix;% Voix/Ins;% Voix/Exp"
)
DEPARTEMENTALES = (
    "Code du département;Libellé du département;Code du canton;Libellé du canton;"
    "Code de la commune;Libellé de la commune;Code du b.vote;"
    f"{TOTALS_2017};N°Panneau;Binôme;Nuance;Voix;% Voix/Ins;% Voix/Exp"
)
MUNICIPALES_2020 = "\t".join(
    [
        "Code du département",
        "Libellé du département",
        "Code de la commune",
        "Libellé de la commune",
        "Code B.Vote",
        *TOTALS_2017.split(";"),
        "N.Pan.",
        "Code Nuance",
        "Sexe",
        "Nom",
        "Prénom",
        "Liste",
        "Voix",
        "% Voix/Ins",
        "% Voix/Exp",
    ]
)
TOTALS_2024 = (
    "Inscrits;Votants;% Votants;Abstentions;% Abstentions;Exprimés;% Exprimés/inscrits;"
    "% Exprimés/votants;Blancs;% Blancs/inscrits;% Blancs/votants;Nuls;% Nuls/inscrits;"
    "% Nuls/votants"
)


def legislatives_2024(blocks: int) -> str:
    head = (
        f"Code département;Libellé département;Code commune;Libellé commune;Code BV;{TOTALS_2024}"
    )
    block = (
        "Numéro de panneau {n};Nuance candidat {n};Nom candidat {n};Prénom candidat {n};"
        "Sexe candidat {n};Voix {n};% Voix/inscrits {n};% Voix/exprimés {n};Elu {n}"
    )
    return ";".join([head, *(block.format(n=n) for n in range(1, blocks + 1))])


def europeennes_2024(blocks: int) -> str:
    head = f"Code localisation;Libellé localisation;{TOTALS_2024}"
    block = (
        "Numéro de panneau {n};Nuance liste {n};Libellé abrégé de liste {n};"
        "Libellé de liste {n};Voix {n};% Voix/inscrits {n};% Voix/exprimés {n};Sièges {n}"
    )
    return ";".join([head, *(block.format(n=n) for n in range(1, blocks + 1))])


DATAGOUV_GENERAL = (
    "id_election;id_brut_miom;code_departement;libelle_departement;code_canton;"
    "libelle_canton;code_commune;libelle_commune;code_circonscription;"
    "libelle_circonscription;code_bv;inscrits;abstentions;votants;blancs;nuls;exprimes;"
    "ratio_abstentions_inscrits;ratio_votants_inscrits"
)
DATAGOUV_CANDIDATS = (
    "id_election;id_brut_miom;code_departement;libelle_departement;code_commune;"
    "libelle_commune;code_bv;no_panneau;voix;ratio_voix_inscrits;ratio_voix_exprimes;"
    "nuance;sexe;nom;prenom;libelle_abrege_liste;libelle_etendu_liste;nom_tete_liste"
)
PARIS = (
    "ID_BVOTE;SCRUTIN;ANNEE;TOUR;DATE;NUM_CIRC;NUM_QUARTIER;NUM_ARROND;NUM_BUREAU;NB_PROCU;"
    "NB_INSCR;NB_EMARG;NB_VOTANT;NB_BL;NB_NUL;NB.EXPRIM;MACRON Emmanuel;LE PEN Marine;"
    "MÉLENCHON Jean-Luc;geo_shape;geo_point_2d"
)
BAN = (
    "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
    "code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;nom_ld;"
    "libelle_acheminement;nom_afnor;source_position;source_nom_voie;certification_commune;"
    "cad_parcelles"
)
BAL = (
    "uid_adresse;cle_interop;commune_insee;commune_nom;commune_deleguee_insee;"
    "commune_deleguee_nom;voie_nom;lieudit_complement_nom;numero;suffixe;position;x;y;long;"
    "lat;cad_parcelles;source;date_der_maj;certification_commune"
)
REU_STATIONS = (
    "id_brut_reu,id_brut_insee,id_brut_miom,code_commune,code,libelle_reu,num_voie_reu,"
    "voie_reu,cp_reu,commune_reu,nb_adresses_initial,nb_adresses_final"
)
REU_ADDRESSES = (
    "code_commune_ref,reconstitution_code_commune,id_brut_bv_reu,id,geo_adresse,geo_type,"
    "geo_score,longitude,latitude,api_line,nb_bv_commune,nb_adresses"
)


def write(
    directory: Path,
    name: str,
    lines: list[str],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    path = directory / name
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def run(*args: Any) -> tuple[dict[str, Any], str]:
    """``campagne import …``: the JSON summary (last stdout line) and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *[str(arg) for arg in args], stdout=out, stderr=err)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def kinds(summary: dict[str, Any]) -> dict[str, int]:
    return summary.get("anomalies_by_kind", {})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path
