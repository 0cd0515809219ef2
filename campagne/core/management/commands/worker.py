"""`campagne worker`: run background tasks (the django-tasks database worker).

A thin layer over django-tasks-db's `db_worker` with Campagne's defaults: every queue
declared in settings.TASKS, no autoreload unless asked, and `--until-idle` to drain the
queues and exit (cron, deploy hooks, tests). SIGTERM or SIGINT lets the running task
finish, then exits; a second signal aborts it. Several workers, on one machine or many,
share the queues safely: each task is claimed by one worker (see docs/operations.md).
"""

import signal
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

_STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]


def default_queues() -> str:
    return ",".join(settings.TASKS["default"].get("QUEUES", ["default"]))


class Command(DbWorkerCommand):
    help = (
        "Run background tasks from the database queues until stopped (SIGTERM/SIGINT let "
        "the current task finish). --until-idle runs what is queued, then exits."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name=default_queues(), reload=False)
        parser.add_argument(
            "--until-idle",
            action="store_true",
            dest="batch",
            help="Run the tasks already queued, then exit (db_worker's --batch).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # db_worker installs its own signal handlers; put the previous ones back so that
        # a caller running the worker in-process (tests, `--until-idle` from a script)
        # gets its Ctrl-C back afterwards.
        previous = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}
        try:
            super().handle(*args, **options)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
