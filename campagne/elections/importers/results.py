"""Import a per-station results file: any layout of ``result_layouts``, CSV or XLSX.

The file is read in chunks by a thread and parsed here (progress is reported after each),
normalised into compact polars frames per election, checked, then written in one
transaction per election: re-importing the same election replaces the results of the
file's stations, never duplicates them, and leaves other stations' results alone (a
département's extract does not erase another's).

Checks, each reported as an anomaly with its line and station (rows are kept):
inscrits = votants + abstentions, votants = exprimés + blancs + nuls, Σ voix = exprimés,
known commune (after mapping old codes onto current communes), one row per station.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from django.utils.translation import gettext as _

from campagne.elections.communes import CommuneResolver
from campagne.elections.importers.report import Progress, Report, no_progress
from campagne.elections.importers.result_layouts import (
    ElectionKey,
    Parsed,
    ResultLayout,
    detect,
)
from campagne.elections.importers.results_write import write_election
from campagne.elections.importers.source import Chunk, open_table, prefetched
from campagne.elections.models import Election, ElectionKind
from campagne.lib.import_registry import ImportFileError
from campagne.lib.text import fold

_KIND_WORDS = {
    "presidentielle": ElectionKind.PRESIDENTIELLE,
    "legislatives": ElectionKind.LEGISLATIVES,
    "europeennes": ElectionKind.EUROPEENNES,
    "municipales": ElectionKind.MUNICIPALES,
    "departementales": ElectionKind.DEPARTEMENTALES,
    "regionales": ElectionKind.REGIONALES,
}
# The Ministry's file name prefixes: PR22_BVot_T1_FE.txt, LG17_…, ER19_…, MN20_….
_MINISTRY_PREFIX = re.compile(r"^(pr|lg|er|mn|dp|rg)(\d{2})[_-]")
_PREFIX_KINDS = {
    "pr": ElectionKind.PRESIDENTIELLE,
    "lg": ElectionKind.LEGISLATIVES,
    "er": ElectionKind.EUROPEENNES,
    "mn": ElectionKind.MUNICIPALES,
    "dp": ElectionKind.DEPARTEMENTALES,
    "rg": ElectionKind.REGIONALES,
}


@dataclass(frozen=True)
class ElectionChoice:
    """What the command line or the upload form says about the election."""

    election_id: int | None = None
    kind: str | None = None
    year: int | None = None
    round: int | None = None
    date: date | None = None
    label: str = ""


def hints_from_filename(name: str) -> ElectionKey:
    """Kind, year and round a file name gives away ("legislatives2024_t1_9213.xlsx")."""
    folded = fold(Path(name).name)
    kind = next((k for word, k in _KIND_WORDS.items() if word in folded), None)
    year = None
    if prefix := _MINISTRY_PREFIX.match(folded):
        kind = kind or _PREFIX_KINDS[prefix.group(1)]
        year = 2000 + int(prefix.group(2))
    if found := re.search(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)", folded):
        year = int(found.group(1))
    round_match = re.search(r"(?:^|[^a-z0-9])(?:t|tour)[\s_-]?([12])(?![0-9])", folded)
    return ElectionKey(
        kind=kind, year=year, round=int(round_match.group(1)) if round_match else None
    )


def import_results(
    path: str | Path,
    *,
    choice: ElectionChoice | None = None,
    filename: str | None = None,
    progress: Progress = no_progress,
) -> Report:
    """Import one results file; see the module docstring. ImportFileError if unknown."""
    path = Path(path)
    choice = choice or ElectionChoice()
    name = filename or path.name
    table = open_table(path)
    layout = detect(table)
    report = Report(kind="results", file=name)
    report.details["layout"] = layout.name
    # A thread reads the next chunk while this one parses the current one (polars
    # releases the GIL: the two overlap).
    chunks = _parsed(
        prefetched(table.chunks(skip_first=layout.has_header, wanted=layout.wanted)), layout
    )
    elections = _accumulate(chunks, layout, choice, name, report, progress)
    report.details["elections"] = [str(election) for election in elections]
    report.details["election_ids"] = [election.pk for election in elections]
    return report


def _parsed(chunks: Iterator[Chunk], layout: ResultLayout) -> Iterator[tuple[int, float, Parsed]]:
    for chunk in chunks:
        yield chunk.frame.height, chunk.fraction, layout.parse(chunk)


def _accumulate(
    chunks: Iterator[tuple[int, float, Parsed]],
    layout: ResultLayout,
    choice: ElectionChoice,
    name: str,
    report: Report,
    progress: Progress,
) -> list[Election]:
    """Read the whole file into compact frames per election, then write each election in
    one transaction.

    Writing chunk by chunk while a thread parses the next was measured slower (with one
    row per statement): SQLite's ``executemany`` takes the GIL back for every statement
    and stalls behind the parser.
    """
    stations: dict[str, list[pl.DataFrame]] = {}
    votes: dict[str, list[pl.DataFrame]] = {}
    wide_votes: dict[str, list[pl.DataFrame]] = {}
    identities: dict[str, list[pl.DataFrame]] = {}
    rows = 0
    resolver: CommuneResolver | None = None
    for height, fraction, parsed in chunks:
        if resolver is None:
            # Loaded here rather than before the first chunk: the reader thread starts
            # with the first chunk asked for, and reads the next ones meanwhile.
            resolver = CommuneResolver.load()
        for target, frame in (
            (stations, parsed.stations),
            (votes, parsed.votes),
            (wide_votes, parsed.wide_votes),
            (identities, parsed.identities),
        ):
            if frame is None:
                continue
            for key, part in _by_election(frame):
                target.setdefault(key, []).append(part)
        rows += height
        progress(rows, fraction)
    report.counts["rows"] = rows
    keys = sorted(set(stations) | set(votes) | set(wide_votes))
    if not keys or resolver is None:  # no rows: no chunk either
        raise ImportFileError(_("Aucune ligne de résultat dans ce fichier."))
    elections = _elections(keys, layout, choice, name)
    for key in keys:
        write_election(
            elections[key],
            _concat(stations.get(key)),
            _concat(votes.get(key)),
            _concat(identities.get(key)),
            wide_votes=_concat(wide_votes.get(key)),
            resolver=resolver,
            report=report,
        )
    report.counts["communes_remapped"] = len(resolver.remapped)
    return [elections[key] for key in keys]


def _by_election(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    if frame.is_empty():
        return []
    if frame.get_column("election").n_unique() == 1:
        return [(frame.get_column("election")[0], frame)]
    return [
        (str(key[0]), part) for key, part in frame.partition_by("election", as_dict=True).items()
    ]


def _concat(frames: list[pl.DataFrame] | None) -> pl.DataFrame | None:
    if not frames:
        return None
    # Diagonal: chunks of a wide file may have different numbers of candidate blocks.
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def _elections(
    keys: list[str], layout: ResultLayout, choice: ElectionChoice, filename: str
) -> dict[str, Election]:
    """Find or create the election of each key the file holds, filling gaps from options."""
    if choice.election_id is not None:
        election = Election.objects.filter(pk=choice.election_id).first()
        if election is None:
            raise ImportFileError(_("Élection n° %(id)s inconnue.") % {"id": choice.election_id})
        if len(keys) > 1:
            raise ImportFileError(
                _("Ce fichier contient %(count)s élections : ne précisez pas --election.")
                % {"count": len(keys)}
            )
        return {keys[0]: election}
    hints = hints_from_filename(filename)
    found = {}
    for key in keys:
        from_file = ElectionKey.decode(key)
        kind = from_file.kind or choice.kind or layout.kind_hint or hints.kind
        year = from_file.year or choice.year or layout.year_hint or hints.year
        round_ = from_file.round or choice.round or hints.round
        missing = [
            option
            for option, value in (("--kind", kind), ("--year", year), ("--round", round_))
            if not value
        ]
        if missing:
            raise ImportFileError(
                _("Le fichier ne dit pas de quelle élection il s'agit : précisez %(options)s.")
                % {"options": " ".join(missing)}
            )
        if kind not in ElectionKind.values:
            raise ImportFileError(_("Type d'élection inconnu : %(kind)s") % {"kind": kind})
        election_date = choice.date or _parse_date(from_file.date)
        election, created = Election.objects.get_or_create(
            kind=kind,
            year=year,
            round=round_,
            defaults={"date": election_date, "label": choice.label},
        )
        if not created and (election_date and not election.date or choice.label):
            election.date = election.date or election_date
            election.label = choice.label or election.label
            election.save(update_fields=["date", "label"])
        found[key] = election
    return found


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
