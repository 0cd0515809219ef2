"""`campagne mailing send ID` (freeze the audience and enqueue; on a mailing already
sending, enqueue again to resume after a crash), `campagne mailing status ID` (JSON
counts), `campagne mailing pause|resume|cancel ID`, `campagne mailing test ID --to a@b.fr`."""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from campagne.mailing import actions
from campagne.mailing.models import Mailing, mailing_for


class Command(BaseCommand):
    help = "Send a mailing (enqueue it for the workers) or print its counts as JSON."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "action", choices=["send", "status", "pause", "resume", "cancel", "test"]
        )
        parser.add_argument("mailing_id", type=int)
        parser.add_argument(
            "--to", action="append", default=[], help="test: an address to send to (repeat)"
        )

    def handle(
        self, *args: Any, action: str, mailing_id: int, to: list[str], **options: Any
    ) -> None:
        # The command line acts as the system (a transient HQ admin).
        scope = actions.system_scope()
        try:
            mailing = mailing_for(scope, mailing_id)
        except Http404:
            raise CommandError(f"No mailing with id {mailing_id}.") from None
        verbs = {
            "pause": actions.pause_sending,
            "resume": actions.resume_paused,
            "cancel": actions.cancel_sending,
        }
        if action in verbs:
            try:
                verbs[action](scope=scope, mailing=mailing)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(json.dumps({"mailing": mailing.pk, "status": mailing.status}))
            return
        if action == "test":
            try:
                message_ids = actions.send_test(scope=scope, mailing=mailing, addresses=to)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(json.dumps({"mailing": mailing.pk, "test_message_ids": message_ids}))
            return
        if action == "send":
            try:
                if mailing.status == Mailing.Status.SENDING:
                    actions.resume_sending(scope=scope, mailing=mailing)
                    result: dict[str, Any] = {"resumed": True}
                else:
                    result = actions.start_sending(scope=scope, mailing=mailing)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(json.dumps({"mailing": mailing.pk, **result}))
            return
        counts = {**mailing.counts(), **mailing.delivery_counts()}
        self.stdout.write(
            json.dumps({"mailing": mailing.pk, "status": mailing.status, **counts}, sort_keys=True)
        )
