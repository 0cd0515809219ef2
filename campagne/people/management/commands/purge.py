"""`campagne purge`: apply the retention rules and report what was deleted."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from campagne.accounts.models import Role, User
from campagne.accounts.scopes import scope_for
from campagne.people import actions


class Command(BaseCommand):
    help = (
        "Delete the people kept only for prospecting who have not been in touch within the "
        "retention period (CNIL), keeping keyed hashes so that they do not come back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--months",
            type=int,
            default=None,
            help="Retention period in months (default: CAMPAGNE_PROSPECT_RETENTION_MONTHS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count who would be deleted; delete nothing."
        )

    def handle(self, *args: Any, months: int | None, dry_run: bool, **options: Any) -> None:
        # The command runs as the system: a transient HQ admin identity, never saved.
        system = User(email="system@campagne", role=Role.HQ_ADMIN)
        system.is_active = True
        report = actions.purge(scope=scope_for(system), months=months, dry_run=dry_run)
        self.stdout.write(json.dumps(report))
