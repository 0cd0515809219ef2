"""``campagne demo``: load the demo campaign and print its logins."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from campagne.accounts.models import Role
from campagne.demo.actions import (
    ACCOUNTS,
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    PASSWORD,
    DemoError,
    DemoReport,
    load_demo,
)


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        # Translated here, not in a lazy class attribute: argparse wants real strings.
        parser.description = _(
            "Charge la campagne de démonstration (Alpes-de-Haute-Provence) et ses comptes ; "
            "ne fait rien si elle est déjà chargée."
        )
        parser.add_argument(
            "--people",
            type=int,
            default=DEFAULT_PEOPLE,
            help=_("Nombre de personnes à créer."),
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=_("Graine du hasard."))
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_("Supprime la démo déjà chargée (personnes et comptes) et la recharge."),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Charge la démo même si la base contient d'autres personnes."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["people"] < 1:
            raise CommandError(_("--people doit être au moins 1."))
        try:
            report = load_demo(
                people=options["people"],
                seed=options["seed"],
                reset=options["reset"],
                force=options["force"],
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from None
        self._summary(report)

    def _summary(self, report: DemoReport) -> None:
        people = number_format(report.people, force_grouping=True)
        if report.loaded:
            message = _(
                "Démo chargée : %(people)s personnes dans %(communes)s communes, en %(seconds)s s."
            )
        else:
            message = _(
                "Démo déjà chargée : %(people)s personnes dans %(communes)s communes "
                "(« campagne demo --reset » pour la recharger)."
            )
        values = {
            "people": people,
            "communes": report.communes,
            "seconds": number_format(report.seconds, decimal_pos=1),
        }
        self.stdout.write(self.style.SUCCESS(message % values))
        self.stdout.write(_("Comptes de démonstration (mot de passe : %s) :") % PASSWORD)
        width = max(len(account.email) for account in ACCOUNTS)
        for account in ACCOUNTS:
            role = str(Role(account.role).label)
            scope = f" — {account.scope}" if account.scope else ""
            self.stdout.write(f"  {account.email:<{width}}  {role}{scope}")
