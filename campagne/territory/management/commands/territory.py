"""`campagne territory load`: reload all of France from the shipped COG files."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from campagne.territory.loader import load_france


class Command(BaseCommand):
    help = (
        "Territory data. `load` (re)loads régions, départements, arrondissements, communes, "
        "populations, points and postcodes from campagne/territory/data; `migrate` already "
        "does it once, this refreshes after the files change. Prints a JSON summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        load = actions.add_parser("load", help="(Re)load all of France; idempotent.")
        load.add_argument("--database", default="default", help="Database alias.")

    def handle(self, *args: Any, action: str, database: str, **options: Any) -> None:
        summary = load_france(using=database)
        self.stdout.write(json.dumps(summary))
