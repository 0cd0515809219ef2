"""The ``campagne import results|addresses|stations|contours`` sub-commands.

Registered in ``campagne.lib.import_registry`` by ``ElectionsConfig.ready``; each parses
its options, runs ``actions.run_import`` on every file given, prints progress and each
anomaly on stderr, and returns the summary the command prints as one JSON line.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections import Counter
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from campagne.elections import actions
from campagne.elections.importers.report import format_anomaly
from campagne.elections.models import ElectionKind, ImportKind
from campagne.lib.import_registry import Log, register_importer


def _files(parser: ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=_("Fichier CSV, TXT ou XLSX."))


def _results_arguments(parser: ArgumentParser) -> None:
    _files(parser)
    parser.add_argument("--election", type=int, help=_("Identifiant d'une élection existante."))
    parser.add_argument("--kind", choices=ElectionKind.values, help=_("Type d'élection."))
    parser.add_argument("--year", type=int, help=_("Année du scrutin."))
    parser.add_argument("--round", type=int, choices=[1, 2], help=_("Tour (1 ou 2)."))
    parser.add_argument("--date", type=date.fromisoformat, help=_("Date du scrutin (AAAA-MM-JJ)."))
    parser.add_argument("--label", default="", help=_("Libellé de l'élection."))


def _contours_arguments(parser: ArgumentParser) -> None:
    _files(parser)
    parser.add_argument(
        "--code-commune", help=_("Propriété qui donne le code INSEE de la commune (INSEE_COM).")
    )
    parser.add_argument(
        "--code-bv", help=_("Propriété qui donne le bureau (CODE_BV, « 04036_2 » ou « 2 »).")
    )


def _options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options a job records (JSON-safe)."""
    if kind == ImportKind.RESULTS:
        return {
            "election": options.get("election"),
            "kind": options.get("kind"),
            "year": options.get("year"),
            "round": options.get("round"),
            "date": options["date"].isoformat() if options.get("date") else None,
            "label": options.get("label") or "",
        }
    if kind == ImportKind.CONTOURS:
        return {"code_commune": options.get("code_commune"), "code_bv": options.get("code_bv")}
    return {}


def _ordered(kind: str, files: list[str]) -> list[str]:
    """Totals before votes (data.gouv), REU stations before REU addresses."""
    from campagne.elections.importers.headers import norm
    from campagne.elections.importers.source import open_table
    from campagne.lib.import_registry import ImportFileError

    def rank(path: str) -> int:
        try:
            header = {norm(name) for name in open_table(path).header}
        except ImportFileError:
            return 0
        return (
            1 if ("voix" in header and "id election" in header) or "id brut bv reu" in header else 0
        )

    if len(files) < 2 or kind not in (ImportKind.RESULTS, ImportKind.STATIONS):
        return files
    return sorted(files, key=rank)


def _handler(kind: str):  # type: ignore[no-untyped-def]
    def handle(options: dict[str, Any], log: Log) -> dict[str, Any]:
        summaries = []
        for path in _ordered(kind, list(options["files"])):

            def progress(rows: int, fraction: float, path: str = path) -> None:
                log(
                    _("%(file)s : %(rows)s lignes lues (%(percent)s %%)")
                    % {
                        "file": path,
                        "rows": f"{rows:,}".replace(",", " "),
                        "percent": int(fraction * 100),
                    }
                )

            job = actions.run_import(
                kind=kind, path=path, options=_options(kind, options), progress=progress
            )
            for entry in job.anomalies:
                log(format_anomaly(entry))
            summaries.append(job.summary)
        return merge(summaries)

    return handle


def merge(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for several files: counters and anomaly kinds added up, lists joined,
    each file's own summary kept under ``files``."""
    if len(summaries) == 1:
        return summaries[0]
    merged: dict[str, Any] = {"kind": summaries[0].get("kind")}
    counts: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    lists: dict[str, list[Any]] = {}
    for summary in summaries:
        for key, value in summary.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                counts[key] += value
            elif key == "anomalies_by_kind":
                by_kind.update(value)
            elif isinstance(value, list):
                lists.setdefault(key, []).extend(value)
    merged.update(counts)
    merged.update(lists)
    if by_kind:
        merged["anomalies_by_kind"] = dict(sorted(by_kind.items()))
    merged["seconds"] = round(merged.get("seconds", 0), 3)
    merged["files"] = summaries
    return merged


def register() -> None:
    register_importer(
        "results",
        _results_arguments,
        _handler(ImportKind.RESULTS),
        help=_("Résultats par bureau de vote (ministère, data.gouv, Paris Data)."),
    )
    register_importer(
        "addresses",
        _files,
        _handler(ImportKind.ADDRESSES),
        help=_("Adresses : BAN (adresses-XX.csv.gz), Base Adresse Locale."),
    )
    register_importer(
        "stations",
        _files,
        _handler(ImportKind.STATIONS),
        help=_("Bureaux de vote de l'INSEE : table-bv-reu.csv, table-adresses-reu.csv."),
    )
    register_importer(
        "contours",
        _contours_arguments,
        _handler(ImportKind.CONTOURS),
        help=_("Contours des bureaux de vote (GeoJSON)."),
    )
