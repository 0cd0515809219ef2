"""The layouts of per-station result files, recognised from their first line.

Each layout turns a chunk of rows (polars strings named by position, see ``source``) into
two normalised frames:

- stations: ``election`` (a key, see ``ElectionKey``), ``line``, ``dep`` and ``commune``
  (as written), ``number`` (station number as written), ``circo``, ``circo_name``,
  ``contest``, the counts ``inscrits abstentions votants blancs nuls exprimes`` (Int64, null
  when absent), and ``polygon``/``latitude``/``longitude`` (Paris' file only);
- candidates: ``election``, ``line``, ``dep``, ``commune``, ``number``, ``contest``,
  ``panneau``, ``nuance``, ``sex``, ``last_name``, ``first_name``, ``list_short_label``,
  ``list_label``, ``voix``.

Wide layouts (one line per station, candidate blocks repeated to the right) locate their
blocks by position and stride: the first block's names give the stride and where each
field sits in a block; later blocks are read at ``start + k × stride`` whatever their
names (the Ministry leaves them unnamed, pandas renames them ``Unnamed: 27`` or
``Voix.1``), and a line has as many blocks as it has fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
from django.utils.translation import gettext as _

from campagne.elections.importers.headers import base, find, index_columns, is_unnamed, norm
from campagne.elections.importers.source import Chunk, Table, column
from campagne.elections.models import ElectionKind
from campagne.lib.import_registry import ImportFileError

COUNTS = ("inscrits", "abstentions", "votants", "blancs", "nuls", "exprimes")
STATION_COLUMNS = (
    "election",
    "line",
    "dep",
    "commune",
    "number",
    "circo",
    "circo_name",
    "contest",
    *COUNTS,
    "polygon",
    "latitude",
    "longitude",
)
CANDIDATE_TEXT = (
    "nuance",
    "sex",
    "last_name",
    "first_name",
    "list_short_label",
    "list_label",
)
CANDIDATE_COLUMNS = (
    "election",
    "line",
    "dep",
    "commune",
    "number",
    "contest",
    "panneau",
    *CANDIDATE_TEXT,
    "voix",
)
STATION_SCHEMA = {
    **{name: pl.String for name in STATION_COLUMNS},
    "line": pl.Int64,
    **{name: pl.Int64 for name in COUNTS},
    "latitude": pl.Float64,
    "longitude": pl.Float64,
}
CANDIDATE_SCHEMA = {
    **{name: pl.String for name in CANDIDATE_COLUMNS},
    "line": pl.Int64,
    "panneau": pl.Int64,
    "voix": pl.Int64,
}

# Folded names of the fixed columns, per field.
DEP = {"code du departement", "code departement", "code dpt", "code departement bv"}
COMMUNE = {"code de la commune", "code commune", "code insee"}
STATION = {
    "code du b vote",
    "code b vote",
    "code bv",
    "code du bureau de vote",
    "code bureau de vote",
}
LOCATION = {"code localisation"}
CIRCO = {"code de la circonscription", "code circonscription"}
CIRCO_NAME = {"libelle de la circonscription", "libelle circonscription"}
CANTON = {"code du canton", "code canton"}
COUNT_NAMES = {
    "inscrits": {"inscrits"},
    "abstentions": {"abstentions"},
    "votants": {"votants"},
    "blancs": {"blancs"},
    "nuls": {"nuls"},
    "blancs_nuls": {"blancs et nuls"},
    "exprimes": {"exprimes"},
}
# Folded names of a candidate block's fields (2024 files number them: "Voix 3").
BLOCK_FIELDS = {
    "panneau": {
        "npanneau",
        "n pan",
        "n panneau",
        "numero de panneau",
        "numero panneau",
        "no panneau",
        "nliste",
        "n liste",
        "n depot",
    },
    "nuance": {"nuance", "code nuance", "nuance candidat", "nuance liste", "code nuance liste"},
    "sex": {"sexe", "sexe candidat"},
    "last_name": {"nom", "nom candidat", "binome", "nom tete de liste", "nom du candidat"},
    "first_name": {"prenom", "prenom candidat", "prenom tete de liste"},
    "list_short_label": {"liste", "libelle abrege liste", "libelle abrege de liste"},
    "list_label": {"libelle etendu liste", "libelle de liste", "libelle liste"},
    "voix": {"voix"},
}
_BLOCK_NAMES = set().union(*BLOCK_FIELDS.values())
DIGITS = r"^\s*\d+\s*$"


@dataclass(frozen=True)
class ElectionKey:
    """An election as a file names it; ``None`` parts come from the command's options."""

    kind: str | None = None
    year: int | None = None
    round: int | None = None
    date: str | None = None

    def encode(self) -> str:
        return "|".join("" if part is None else str(part) for part in self.astuple())

    def astuple(self) -> tuple[str | None, int | None, int | None, str | None]:
        return (self.kind, self.year, self.round, self.date)

    @classmethod
    def decode(cls, text: str) -> ElectionKey:
        kind, year, round_, date = (text.split("|") + ["", "", "", ""])[:4]
        return cls(
            kind=kind or None,
            year=int(year) if year else None,
            round=int(round_) if round_ else None,
            date=date or None,
        )


def as_int(expr: pl.Expr) -> pl.Expr:
    """A count as an integer ("12", " 12 ", pandas' "12.0"); anything else is null."""
    number = expr.str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(number.round(0) == number).then(number.cast(pl.Int64))


def as_text(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().fill_null("")


def at_column(index: int | None, width: int) -> pl.Expr:
    if index is None or index >= width:
        return pl.lit(None, dtype=pl.String)
    return pl.col(column(index))


def int_name(index: int) -> str:
    """The name ``with_ints`` gives to column ``index`` read as a count."""
    return f"n{index}"


def int_at(index: int | None, width: int) -> pl.Expr:
    """Column ``index`` as a count (see ``with_ints``), like ``as_int(at_column(…))``."""
    if index is None or index >= width:
        return pl.lit(None, dtype=pl.Int64)
    return pl.col(int_name(index))


def with_ints(frame: pl.DataFrame, indexes: Iterable[int | None]) -> pl.DataFrame:
    """Add the columns at ``indexes`` read as counts (``as_int``), named ``int_name(i)``.

    ``as_int`` (strip, float cast, rounding check) took most of a wide file's parse
    time, and nearly every count is plain digits, which a direct integer cast reads to
    the same value ten times faster. A column where that cast leaves a value unread
    (" 12 ", "12.0", junk) is read again with ``as_int``, so the result is the same.
    """
    names = {i: column(i) for i in sorted({i for i in indexes if i is not None})}
    names = {i: name for i, name in names.items() if name in frame.columns}
    ints = frame.select(
        pl.col(name).cast(pl.Int64, strict=False).alias(int_name(i)) for i, name in names.items()
    )
    # Null counts are known without a scan: a column with no unreadable value costs nothing.
    redo = [
        as_int(pl.col(name)).alias(int_name(i))
        for i, name in names.items()
        if ints.get_column(int_name(i)).null_count() != frame.get_column(name).null_count()
    ]
    if redo:
        ints = ints.with_columns(frame.select(redo))
    return frame.hstack(ints)


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


IDENTITY = ("contest", "panneau", *CANDIDATE_TEXT)
VOTE_COLUMNS = ("election", "line", "dep", "commune", "number", "identity", "panneau", "voix")
IDENTITY_COLUMNS = ("election", "identity", *IDENTITY)
# Any fixed seed: equal identities hash equal within a run, which is all that is needed.
_SEED = 4


@dataclass
class Parsed:
    """A chunk, normalised: station rows, vote rows, and the candidates they refer to.

    Votes name their candidate by ``identity``, a hash of its columns (``IDENTITY``), so
    that 828,000 vote rows do not carry eight text columns each; ``identities`` has one
    row per identity with the text.

    Votes come long (``votes``: one row per candidate and station, ``VOTE_COLUMNS``) or,
    from the wide layouts, wide (``wide_votes``: one row per line, ``line``, then
    ``i0, v0, i1, v1…``, the identity and voix of each block), which spares building and
    grouping a row per vote.
    """

    stations: pl.DataFrame
    votes: pl.DataFrame | None
    identities: pl.DataFrame
    wide_votes: pl.DataFrame | None = None

    @classmethod
    def from_long(cls, stations: pl.DataFrame, candidates: pl.DataFrame) -> Parsed:
        """From a frame with one row per candidate and station (``CANDIDATE_COLUMNS``)."""
        votes, identities = split_identities(candidates)
        return cls(stations, votes, identities)


def split_identities(candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Votes and distinct identities of a candidate frame.

    The identity is hashed from the columns as read (``panneau`` may still be text): the
    text is cleaned on the distinct identities only, a few rows instead of one per vote.
    """
    hashed = candidates.with_columns(pl.struct(IDENTITY).hash(seed=_SEED).alias("identity"))
    identities = hashed.select(IDENTITY_COLUMNS).unique(
        ["election", "identity"], maintain_order=True
    )
    panneau = pl.col("panneau")
    if hashed.schema["panneau"] == pl.String:
        panneau = as_int(panneau)
        hashed = hashed.with_columns(panneau.alias("panneau"))
    identities = identities.with_columns(
        panneau.alias("panneau"), *[as_text(pl.col(name)).alias(name) for name in CANDIDATE_TEXT]
    )
    return hashed.select(VOTE_COLUMNS), identities


class ResultLayout:
    """A recognised layout: turns chunks into normalised frames."""

    name: ClassVar[str] = ""
    has_header: ClassVar[bool] = True
    # What the layout says about the election, when the file does not name it per row.
    kind_hint: str | None = None
    year_hint: int | None = None

    def parse(self, chunk: Chunk) -> Parsed:
        raise NotImplementedError

    def wanted(self, width: int) -> list[int] | None:
        """The columns to read from a line of ``width`` fields; None: all of them."""
        return None

    @staticmethod
    def _lines(chunk: Chunk) -> pl.Expr:
        return pl.int_range(0, pl.len(), dtype=pl.Int64) + chunk.first_line


@dataclass
class WideLayout(ResultLayout):
    """The Ministry's per-station files (2017–2024, municipales 2020) and their re-exports."""

    name: ClassVar[str] = "wide"
    dep: int | None = None
    commune: int | None = None
    station: int | None = None
    location: int | None = None
    circo: int | None = None
    circo_name: int | None = None
    canton: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    block_start: int = 0
    stride: int = 1
    # Where the blocks end when the header names columns after them (a re-export's extra
    # columns); None: to the end of each line.
    block_end: int | None = None
    offsets: dict[str, int] = field(default_factory=dict)
    kind_hint: str | None = None
    year_hint: int | None = None

    def parse(self, chunk: Chunk) -> Parsed:
        width = chunk.width
        voix = self.offsets.get("voix")
        frame = with_ints(
            chunk.frame,
            [
                *self.counts.values(),
                *(
                    []
                    if voix is None
                    else [
                        start + voix
                        for start in range(self.block_start, self._end(width), self.stride)
                    ]
                ),
            ],
        )
        count_exprs = {name: int_at(self.counts.get(name), width).alias(name) for name in COUNTS}
        if "abstentions" not in self.counts:
            count_exprs["abstentions"] = (
                int_at(self.counts["inscrits"], width) - int_at(self.counts["votants"], width)
            ).alias("abstentions")
        dep = at_column(self.dep, width).str.strip_chars()
        commune = at_column(self.commune, width).str.strip_chars()
        number = at_column(self.station, width).str.strip_chars()
        if self.location is not None and self.station is None:
            # "01001_0001"-style localisation code: commune and number in one field.
            location = at_column(self.location, width).str.strip_chars()
            commune = location.str.extract(r"^(.*)_[^_]*$")
            number = location.str.extract(r"_([^_]*)$")
        circo = at_column(self.circo, width).str.strip_chars()
        contest = pl.lit("")
        if self.kind_hint == ElectionKind.LEGISLATIVES and self.circo is not None:
            contest = pl.concat_str([dep, pl.lit("-"), circo.str.zfill(2)])
        elif self.canton is not None:
            contest = pl.concat_str(
                [dep, pl.lit("-"), at_column(self.canton, width).str.strip_chars()]
            )
        elif self.kind_hint == ElectionKind.MUNICIPALES:
            contest = pl.concat_str([dep, pl.lit("-"), commune])
        stations = frame.select(
            pl.lit("").alias("election"),
            self._lines(chunk).alias("line"),
            dep.alias("dep"),
            commune.alias("commune"),
            number.alias("number"),
            circo.alias("circo"),
            at_column(self.circo_name, width).str.strip_chars().alias("circo_name"),
            contest.fill_null("").alias("contest"),
            *count_exprs.values(),
            pl.lit(None, dtype=pl.String).alias("polygon"),
            pl.lit(None, dtype=pl.Float64).alias("latitude"),
            pl.lit(None, dtype=pl.Float64).alias("longitude"),
        )
        wide_votes, identities = self._blocks(frame, chunk, contest, width)
        return Parsed(stations, None, identities, wide_votes)

    def _end(self, width: int) -> int:
        return width if self.block_end is None else min(width, self.block_end)

    def _blocks(
        self, frame: pl.DataFrame, chunk: Chunk, contest: pl.Expr, width: int
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Wide votes and identities, block by block (a block is one candidate per line)."""
        columns: list[pl.Expr] = [pl.lit("").alias("election"), self._lines(chunk).alias("line")]
        texts: list[list[pl.Expr]] = []
        base = frame.with_columns(contest.fill_null("").alias("__contest"))
        end = self._end(width)
        for k, start in enumerate(range(self.block_start, end, self.stride)):

            def at(name: str, start: int = start) -> pl.Expr:
                offset = self.offsets.get(name)
                return at_column(None if offset is None else start + offset, end)

            voix_offset = self.offsets.get("voix")
            voix = int_at(None if voix_offset is None else start + voix_offset, end)

            # A block with neither panneau nor voix is padding (short lines, stray tabs);
            # an empty field reads as null.
            present = at("voix").is_not_null() | at("panneau").is_not_null()
            # Identities are hashed from the text as read and cleaned once distinct.
            identity = pl.struct(
                pl.col("__contest").alias("contest"),
                at("panneau").alias("panneau"),
                *[at(name).alias(name) for name in CANDIDATE_TEXT],
            ).hash(seed=_SEED)
            columns += [
                pl.when(present).then(identity).alias(f"i{k}"),
                pl.when(present).then(voix).alias(f"v{k}"),
            ]
            texts.append(
                [
                    pl.col("__contest").alias("contest"),
                    at("panneau").alias("panneau"),
                    *[at(name).alias(name) for name in CANDIDATE_TEXT],
                ]
            )
        wide = base.select(columns)
        if not texts:
            return wide, split_identities(empty_frame(CANDIDATE_SCHEMA))[1]
        # The hash computed for the votes, the text of each distinct identity: one lazy
        # query over every block, which polars runs in parallel.
        hashed = pl.concat(
            [base, wide.select([f"i{k}" for k in range(len(texts))])], how="horizontal"
        ).lazy()
        merged = (
            pl.concat(
                [
                    hashed.select(
                        pl.lit("").alias("election"),
                        pl.col(f"i{k}").alias("identity"),
                        *expressions,
                    )
                    .filter(pl.col("identity").is_not_null())
                    .unique("identity", maintain_order=True)
                    for k, expressions in enumerate(texts)
                ]
            )
            .unique("identity", maintain_order=True)
            .collect()
        )
        return wide, merged.with_columns(
            as_int(pl.col("panneau")).alias("panneau"),
            *[as_text(pl.col(name)).alias(name) for name in CANDIDATE_TEXT],
        )

    def wanted(self, width: int) -> list[int]:
        """The columns this layout reads in a chunk ``width`` fields wide (not the %)."""
        fixed = [
            self.dep,
            self.commune,
            self.station,
            self.location,
            self.circo,
            self.circo_name,
            self.canton,
            *self.counts.values(),
        ]
        blocks = [
            start + offset
            for start in range(self.block_start, self._end(width), self.stride)
            for offset in self.offsets.values()
        ]
        return sorted({i for i in [*fixed, *blocks] if i is not None and i < width})

    @classmethod
    def detect(cls, header: list[str]) -> WideLayout | None:
        skip = index_columns(header)
        folded = [norm(name) for name in header]
        counts = {}
        for name, names in COUNT_NAMES.items():
            position = find(header, names, skip)
            if position is not None:
                counts[name] = position
        station = find(header, STATION, skip)
        location = find(header, LOCATION, skip)
        if not {"inscrits", "votants", "exprimes"} <= counts.keys():
            return None
        if station is None and location is None:
            return None
        fixed_end = max(counts.values())
        block_start = next(
            (i for i in range(fixed_end + 1, len(header)) if base(header[i]) in _BLOCK_NAMES),
            None,
        )
        if block_start is None:
            return None
        stride, offsets = _first_block(header, block_start)
        if "voix" not in offsets:
            return None
        block_end = _blocks_end(header, block_start, stride)
        commune = find(header, COMMUNE, skip)
        layout = cls(
            dep=find(header, DEP, skip),
            commune=commune,
            station=station,
            location=location,
            circo=find(header, CIRCO, skip),
            circo_name=find(header, CIRCO_NAME, skip),
            canton=find(header, CANTON, skip),
            counts=counts,
            block_start=block_start,
            stride=stride,
            block_end=block_end,
            offsets=offsets,
        )
        numbered = bool(re.search(r"\d$", folded[block_start]))
        layout.kind_hint = _kind_hint(layout, header, numbered)
        if folded[station or 0] == "code b vote" and "list_short_label" in offsets:
            layout.year_hint = 2020  # municipales 2020 is the one file with "Code B.Vote"
        return layout


def _first_block(header: list[str], start: int) -> tuple[int, dict[str, int]]:
    """The stride of the candidate blocks and each field's offset, from the first block."""
    seen: set[str] = set()
    offsets: dict[str, int] = {}
    position = start
    while position < len(header):
        name = base(header[position])
        if is_unnamed(header[position]) or name in seen:
            break
        seen.add(name)
        for field_name, names in BLOCK_FIELDS.items():
            if name in names and field_name not in offsets:
                offsets[field_name] = position - start
        position += 1
    return max(position - start, 1), offsets


def _blocks_end(header: list[str], start: int, stride: int) -> int | None:
    """The first column after the blocks that the header names as something else.

    Later blocks are unnamed, renamed by a tool, or named like the first (2024 numbers
    them); a named column that is none of these ends the blocks.
    """
    names = {base(name) for name in header[start : start + stride]}
    for position in range(start + stride, len(header)):
        name = header[position]
        if is_unnamed(name) or base(name) in names:
            continue
        # The start of the block this column would belong to.
        return start + (position - start) // stride * stride
    return None


def _kind_hint(layout: WideLayout, header: list[str], numbered: bool) -> str | None:
    block = {base(name) for name in header[layout.block_start : layout.block_start + layout.stride]}
    if layout.canton is not None or "binome" in block:
        return ElectionKind.DEPARTEMENTALES
    if "code nuance" in block and "liste" in block:
        return ElectionKind.MUNICIPALES
    if block & {"nuance liste", "libelle de liste", "libelle abrege de liste", "nliste"}:
        return ElectionKind.EUROPEENNES
    if block & {"nuance", "nuance candidat"}:
        return ElectionKind.LEGISLATIVES
    if layout.circo is not None and "prenom" in block and not numbered:
        return ElectionKind.PRESIDENTIELLE
    return None


def detect(table: Table) -> ResultLayout:
    """The layout of ``table``, or ImportFileError saying why none fits."""
    from campagne.elections.importers.result_layouts_long import (
        DataGouvLayout,
        HeaderlessLayout,
        ParisLayout,
    )

    header = table.header
    for detector in (DataGouvLayout.detect, ParisLayout.detect, WideLayout.detect):
        layout = detector(header)
        if layout is not None:
            return layout
    headerless = HeaderlessLayout.detect(table)
    if headerless is not None:
        return headerless
    raise ImportFileError(
        _(
            "Fichier de résultats non reconnu : ni fichier du ministère (par bureau de vote), "
            "ni fichier data.gouv, ni export Paris Data (première ligne : « %(line)s »)."
        )
        % {"line": ";".join(header[:6])[:120]}
    )
