"""Result layouts with one row per candidate, or named by their own columns.

- ``HeaderlessLayout``: the 2012/2014 files (no header, one line per candidate);
- ``DataGouvLayout``: data.gouv's aggregated ``general_results`` / ``candidats_results``;
- ``ParisLayout``: Paris' open data export (one column per candidate, polygons).

See ``result_layouts`` for the normalised frames they produce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from campagne.elections.importers.headers import is_unnamed, norm
from campagne.elections.importers.result_layouts import (
    CANDIDATE_COLUMNS,
    CANDIDATE_SCHEMA,
    COUNTS,
    DIGITS,
    STATION_COLUMNS,
    STATION_SCHEMA,
    Parsed,
    ResultLayout,
    as_int,
    as_text,
    at_column,
    empty_frame,
)
from campagne.elections.importers.source import Chunk, Table
from campagne.elections.models import ElectionKind


class HeaderlessLayout(ResultLayout):
    """2012/2014 files: no header, one line per candidate, both rounds in one file.

    ``N° tour;Code département;Code commune;Nom commune;N° circo;N° canton;N° BV;Inscrits;
    Votants;Exprimés;N° dépôt;Nom;Prénom;Code nuance;Voix``
    """

    name: ClassVar[str] = "2012"
    has_header: ClassVar[bool] = False

    def parse(self, chunk: Chunk) -> Parsed:
        frame = chunk.frame
        width = chunk.width
        dep = at_column(1, width).str.strip_chars()
        circo = at_column(4, width).str.strip_chars()
        round_ = at_column(0, width).str.strip_chars().fill_null("")
        keyed = frame.select(
            pl.concat_str([pl.lit("||"), round_, pl.lit("|")]).alias("election"),
            self._lines(chunk).alias("line"),
            dep.alias("dep"),
            at_column(2, width).str.strip_chars().alias("commune"),
            at_column(6, width).str.strip_chars().alias("number"),
            circo.alias("circo"),
            pl.lit(None, dtype=pl.String).alias("circo_name"),
            pl.when(circo.fill_null("").ne(""))
            .then(pl.concat_str([dep, pl.lit("-"), circo.str.zfill(2)]))
            .otherwise(pl.lit(""))
            .alias("contest"),
            as_int(at_column(7, width)).alias("inscrits"),
            (as_int(at_column(7, width)) - as_int(at_column(8, width))).alias("abstentions"),
            as_int(at_column(8, width)).alias("votants"),
            pl.lit(None, dtype=pl.Int64).alias("blancs"),
            pl.lit(None, dtype=pl.Int64).alias("nuls"),
            as_int(at_column(9, width)).alias("exprimes"),
            pl.lit(None, dtype=pl.String).alias("polygon"),
            pl.lit(None, dtype=pl.Float64).alias("latitude"),
            pl.lit(None, dtype=pl.Float64).alias("longitude"),
            as_int(at_column(10, width)).alias("panneau"),
            as_text(at_column(13, width)).alias("nuance"),
            pl.lit("").alias("sex"),
            as_text(at_column(11, width)).alias("last_name"),
            as_text(at_column(12, width)).alias("first_name"),
            pl.lit("").alias("list_short_label"),
            pl.lit("").alias("list_label"),
            as_int(at_column(14, width)).alias("voix"),
        )
        return Parsed.from_long(keyed.select(STATION_COLUMNS), keyed.select(CANDIDATE_COLUMNS))

    @classmethod
    def detect(cls, table: Table) -> HeaderlessLayout | None:
        first = table.header
        if len(first) < 15 or first[0].strip() not in ("1", "2"):
            return None
        if not all(re.match(DIGITS, first[i] or "") for i in (7, 8, 9, 14)):
            return None
        return cls()


_DATAGOUV_KINDS = {
    "pres": ElectionKind.PRESIDENTIELLE,
    "legi": ElectionKind.LEGISLATIVES,
    "euro": ElectionKind.EUROPEENNES,
    "muni": ElectionKind.MUNICIPALES,
    "dpmt": ElectionKind.DEPARTEMENTALES,
    "depa": ElectionKind.DEPARTEMENTALES,
    "cant": ElectionKind.DEPARTEMENTALES,
    "regi": ElectionKind.REGIONALES,
    "reg": ElectionKind.REGIONALES,
}


def datagouv_election(expr: pl.Expr) -> pl.Expr:
    """``"2022_pres_t1"`` → the election key ``"presidentielle|2022|1|"``."""
    year = expr.str.extract(r"^(\d{4})")
    kind = expr.str.extract(r"^\d{4}_([a-z]+)").replace_strict(
        _DATAGOUV_KINDS, default="", return_dtype=pl.String
    )
    round_ = expr.str.extract(r"_t(\d)$")
    return pl.concat_str(
        [kind.fill_null(""), year.fill_null(""), round_.fill_null(""), pl.lit("")], separator="|"
    )


@dataclass
class DataGouvLayout(ResultLayout):
    """data.gouv's aggregated long files: ``general_results`` or ``candidats_results``."""

    name: ClassVar[str] = "datagouv"
    positions: dict[str, int] = field(default_factory=dict)
    candidates_file: bool = False

    def parse(self, chunk: Chunk) -> Parsed:
        frame = chunk.frame
        width = chunk.width

        def at(name: str) -> pl.Expr:
            return at_column(self.positions.get(name), width).str.strip_chars()

        key = at("id brut miom")
        dep = at("code departement")
        commune = pl.coalesce(at("code commune"), key.str.extract(r"^(.*)_[^_]*$"))
        number = pl.coalesce(at("code bv"), key.str.extract(r"_([^_]*)$"))
        circo = at("code circonscription")
        election = datagouv_election(at("id election"))
        common = [
            election.alias("election"),
            self._lines(chunk).alias("line"),
            dep.alias("dep"),
            commune.alias("commune"),
            number.alias("number"),
        ]
        contest = (
            pl.when(at("id election").str.contains("_legi_") & circo.fill_null("").ne(""))
            .then(pl.concat_str([dep, pl.lit("-"), circo.str.zfill(2)]))
            .when(at("id election").str.contains("_muni_"))
            .then(pl.concat_str([dep, pl.lit("-"), commune]))
            .otherwise(pl.lit(""))
            .fill_null("")
        )
        if self.candidates_file:
            candidates = frame.select(
                *common,
                contest.alias("contest"),
                as_int(at("no panneau")).alias("panneau"),
                as_text(at("nuance")).alias("nuance"),
                as_text(at("sexe")).alias("sex"),
                as_text(pl.coalesce(at("nom"), at("binome"), at("nom tete liste"))).alias(
                    "last_name"
                ),
                as_text(at("prenom")).alias("first_name"),
                as_text(at("libelle abrege liste")).alias("list_short_label"),
                as_text(at("libelle etendu liste")).alias("list_label"),
                as_int(at("voix")).alias("voix"),
            )
            return Parsed.from_long(
                empty_frame(STATION_SCHEMA), candidates.select(CANDIDATE_COLUMNS)
            )
        stations = frame.select(
            *common,
            circo.alias("circo"),
            at("libelle circonscription").alias("circo_name"),
            contest.alias("contest"),
            *[as_int(at(name)).alias(name) for name in COUNTS],
            pl.lit(None, dtype=pl.String).alias("polygon"),
            pl.lit(None, dtype=pl.Float64).alias("latitude"),
            pl.lit(None, dtype=pl.Float64).alias("longitude"),
        )
        return Parsed.from_long(stations.select(STATION_COLUMNS), empty_frame(CANDIDATE_SCHEMA))

    @classmethod
    def detect(cls, header: list[str]) -> DataGouvLayout | None:
        folded = [norm(name) for name in header]
        if "id election" not in folded or "id brut miom" not in folded:
            return None
        positions: dict[str, int] = {}
        for position, name in enumerate(folded):
            positions.setdefault(name, position)
        if "voix" in positions:
            return cls(positions=positions, candidates_file=True)
        if {"inscrits", "votants", "exprimes"} <= positions.keys():
            return cls(positions=positions, candidates_file=False)
        return None


_PARIS_KINDS = {
    "presidentielle": ElectionKind.PRESIDENTIELLE,
    "legislatives": ElectionKind.LEGISLATIVES,
    "europeennes": ElectionKind.EUROPEENNES,
    "municipales": ElectionKind.MUNICIPALES,
    "departementales": ElectionKind.DEPARTEMENTALES,
    "regionales": ElectionKind.REGIONALES,
}
_PARIS_FIXED = {
    "id bvote",
    "scrutin",
    "annee",
    "tour",
    "date",
    "num circ",
    "num quartier",
    "num arrond",
    "num bureau",
    "nb procu",
    "nb inscr",
    "nb emarg",
    "nb votant",
    "nb bl",
    "nb nul",
    "nb exprim",
    "nb blnul",
}


@dataclass
class ParisLayout(ResultLayout):
    """Paris open data: one column per candidate ("NOM Prénom"), the station's polygon."""

    name: ClassVar[str] = "paris"
    positions: dict[str, int] = field(default_factory=dict)
    candidates: list[tuple[int, str, str]] = field(default_factory=list)

    def parse(self, chunk: Chunk) -> Parsed:
        frame = chunk.frame
        width = chunk.width

        def at(name: str) -> pl.Expr:
            return at_column(self.positions.get(name), width).str.strip_chars()

        kind = (
            at("scrutin")
            .map_elements(lambda text: _PARIS_KINDS.get(norm(text).split(" ")[0], ""), pl.String)
            .fill_null("")
        )
        election = pl.concat_str(
            [kind, at("annee").fill_null(""), at("tour").fill_null(""), at("date").fill_null("")],
            separator="|",
        )
        ident = at("id bvote")
        arrondissement = ident.str.extract(r"^(\d+)-").str.zfill(2)
        point = at("geo point 2d").str.extract_all(r"-?\d+(?:\.\d+)?")
        keyed = frame.select(
            election.alias("election"),
            self._lines(chunk).alias("line"),
            pl.lit("75").alias("dep"),
            pl.concat_str([pl.lit("751"), arrondissement]).alias("commune"),
            ident.str.extract(r"-(\w+)$").alias("number"),
            at("num circ").alias("circo"),
            pl.lit(None, dtype=pl.String).alias("circo_name"),
            pl.lit("").alias("contest"),
            as_int(at("nb inscr")).alias("inscrits"),
            (as_int(at("nb inscr")) - as_int(at("nb votant"))).alias("abstentions"),
            as_int(at("nb votant")).alias("votants"),
            as_int(at("nb bl")).alias("blancs"),
            as_int(at("nb nul")).alias("nuls"),
            as_int(at("nb exprim")).alias("exprimes"),
            at("geo shape").alias("polygon"),
            point.list.get(0, null_on_oob=True).cast(pl.Float64, strict=False).alias("latitude"),
            point.list.get(1, null_on_oob=True).cast(pl.Float64, strict=False).alias("longitude"),
            *[
                as_int(at_column(position, width)).alias(f"v{position}")
                for position, _last, _first in self.candidates
            ],
        )
        blocks = [
            keyed.select(
                "election",
                "line",
                "dep",
                "commune",
                "number",
                "contest",
                pl.lit(panneau, dtype=pl.Int64).alias("panneau"),
                pl.lit("").alias("nuance"),
                pl.lit("").alias("sex"),
                pl.lit(last).alias("last_name"),
                pl.lit(first).alias("first_name"),
                pl.lit("").alias("list_short_label"),
                pl.lit("").alias("list_label"),
                pl.col(f"v{position}").alias("voix"),
            )
            for panneau, (position, last, first) in enumerate(self.candidates, start=1)
        ]
        candidates = pl.concat(blocks) if blocks else empty_frame(CANDIDATE_SCHEMA)
        return Parsed.from_long(keyed.select(STATION_COLUMNS), candidates.select(CANDIDATE_COLUMNS))

    @classmethod
    def detect(cls, header: list[str]) -> ParisLayout | None:
        folded = [norm(name).replace("_", " ") for name in header]
        if "id bvote" not in folded or "nb inscr" not in folded:
            return None
        positions: dict[str, int] = {}
        for position, name in enumerate(folded):
            positions.setdefault(name, position)
        candidates = []
        for position, name in enumerate(header):
            if folded[position] in _PARIS_FIXED or folded[position].startswith("geo "):
                continue
            if is_unnamed(name):
                continue
            candidates.append((position, *_split_name(name)))
        return cls(positions=positions, candidates=candidates)


def _split_name(text: str) -> tuple[str, str]:
    """``"MÉLENCHON Jean-Luc"`` → ("MÉLENCHON", "Jean-Luc"): capitals are the last name."""
    words = text.strip().split()
    last = [w for w in words if w.upper() == w and any(c.isalpha() for c in w)]
    first = [w for w in words if w not in last]
    return " ".join(last) or text.strip(), " ".join(first)
