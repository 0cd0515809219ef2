"""`campagne import <kind> FILE…`: import public files, one sub-command per kind.

The sub-commands come from ``campagne.lib.import_registry`` (results, addresses, stations
and contours from the elections app; other apps add theirs). Progress and anomalies go to
stderr; the last line on stdout is the JSON summary (``{"rows": N, "stations": N,
"candidates": N, "anomalies": N, …}``). A file the importer does not know exits with
status 1 and a one-line reason.
"""

import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from campagne.lib.import_registry import ImportFileError, importers


class Command(BaseCommand):
    help = "Importer un fichier public : résultats, adresses, bureaux de vote, contours…"

    def add_arguments(self, parser: ArgumentParser) -> None:
        subparsers = parser.add_subparsers(dest="importer", metavar="TYPE", required=True)
        for name, importer in importers().items():
            sub = subparsers.add_parser(name, help=importer.help, description=importer.help)
            importer.add_arguments(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        importer = importers()[options["importer"]]

        def log(message: str) -> None:
            self.stderr.write(message)
            self.stderr.flush()

        try:
            summary = importer.handle(options, log)
        except ImportFileError as exc:
            # One line, whatever the message's origin.
            raise CommandError(" ".join(str(exc).split())) from None
        sys.stdout.flush()
        self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
