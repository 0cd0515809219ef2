"""``campagne targeting attach-people|score``: the targeting runs of the command line.

- ``attach-people``: attach every person to the polling station of their address and print
  ``{"people": N, "matched": N, "rate": x, "by_method": {...}}``;
- ``score [PROFILE…]``: score the profiles again (all by default), after an import.

Both can be run again at any time; they replace what the previous run wrote.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from campagne.targeting.actions import rescore_all
from campagne.targeting.matching import attach_people
from campagne.targeting.models import TargetingProfile


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.description = _("Ciblage des bureaux de vote : rattachement et classement.")
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        commands.add_parser(
            "attach-people",
            help=_("Rattache chaque personne au bureau de vote de son adresse."),
        )
        score = commands.add_parser(
            "score", help=_("Recalcule le classement des profils (tous par défaut).")
        )
        score.add_argument("profiles", nargs="*", type=int, metavar="PROFIL")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "attach-people":
            report = attach_people()
            self.stdout.write(json.dumps(report.as_dict()))
            return
        ids = options.get("profiles") or []
        profiles = TargetingProfile.objects.order_by("pk")
        if ids:
            profiles = profiles.filter(pk__in=ids)
            missing = set(ids) - set(profiles.values_list("pk", flat=True))
            if missing:
                raise CommandError(
                    _("Profils inconnus : %(ids)s") % {"ids": ", ".join(map(str, sorted(missing)))}
                )
        summaries = rescore_all(profiles)
        self.stdout.write(
            json.dumps(
                {
                    "profiles": len(summaries),
                    "stations": sum(s.stations for s in summaries),
                    "seconds": round(sum(s.seconds for s in summaries), 3),
                }
            )
        )
