"""`campagne worker`: run background tasks (the django-tasks database worker).

A thin layer over django-tasks-db's `db_worker` with Campagne's defaults: every queue
declared in settings.TASKS, no autoreload unless asked, and `--until-idle` to drain the
queues and exit (cron, deploy hooks, tests). SIGTERM or SIGINT lets the running task
finish, then exits; a second signal aborts it. Several workers, on one machine or many,
share the queues safely: each task is claimed by one worker (see docs/operations.md).

Before taking tasks, and then every ``--recovery-interval`` seconds from a side thread,
the worker runs the apps' recovery functions (``campagne.core.recovery``): work a killed
worker left "running" is queued again, by one worker only.
"""

import signal
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from campagne.core import recovery

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
        parser.add_argument(
            "--recovery-interval",
            type=float,
            default=settings.CAMPAGNE_RECOVERY_INTERVAL,
            help="Seconds between two searches for work a killed worker left behind "
            "(0: only at start; default: CAMPAGNE_RECOVERY_INTERVAL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Queued before the first task is taken, so that `--until-idle` finishes it too.
        recovery.recover_all()
        interval = options.pop("recovery_interval")
        thread = None
        if interval > 0 and not options.get("batch"):
            thread = recovery.RecoveryThread(interval)
            thread.start()
        # db_worker installs its own signal handlers; put the previous ones back so that
        # a caller running the worker in-process (tests, `--until-idle` from a script)
        # gets its Ctrl-C back afterwards.
        previous = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}
        try:
            super().handle(*args, **options)
        finally:
            if thread is not None:
                thread.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
