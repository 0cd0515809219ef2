"""`campagne tracking flush`: write every spooled hit of this machine to the database.

The web processes do it themselves every TRACKING_FLUSH_MILLISECONDS; this command is
for after they stopped (or crashed), and for TRACKING_FLUSH_MILLISECONDS=0 setups that
flush from cron instead. `campagne tracking count-received ID` adds a finished mailing
to its recipients' engagement (idempotent).
"""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from campagne.tracking import actions, recorder


class Command(BaseCommand):
    help = "Write spooled tracking hits to the database (flush)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["flush", "count-received"])
        parser.add_argument("mailing_id", type=int, nargs="?")

    def handle(self, *args: Any, action: str, mailing_id: int | None, **options: Any) -> None:
        if action == "flush":
            self.stdout.write(json.dumps({"hits": recorder.flush_all()}))
        else:
            if mailing_id is None:
                self.stderr.write("count-received needs a mailing id")
                return
            counted = actions.count_received(mailing_id)
            self.stdout.write(json.dumps({"mailing": mailing_id, "people": counted}))
