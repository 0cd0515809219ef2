"""`campagne import <kind> …`: one command, one subcommand per registered importer.

The importers live with their domains and register in ``campagne.lib.import_registry``
(contacts: campagne.imports; election files: campagne.elections). This command only
parses, dispatches and prints the importer's summary as the last line of stdout (one JSON
object); ``ImportFileError`` ends it with status 1 and a one-line reason on stderr.

The elections app ships the same command; Django runs the one of the app listed first in
INSTALLED_APPS, and both follow the registry's protocol.
"""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from campagne.lib.import_registry import ImportFileError, importers


class Command(BaseCommand):
    help = "Importer un fichier : contacts, résultats, adresses, bureaux de vote, contours…"

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
            raise CommandError(" ".join(str(exc).split())) from None
        self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
