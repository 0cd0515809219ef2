"""Work left behind by a dead worker, picked up again by the next one.

A worker killed with SIGKILL (out of memory, a machine restarted, ``kill -9``) never runs
its ``finally`` blocks: the import or the sending it was doing stays "running" with
nobody behind it, and its task stays claimed in the queue. Each app that has such
long-running work registers one *recovery function* here; ``campagne worker`` calls them
all when it starts and then every ``CAMPAGNE_RECOVERY_INTERVAL`` seconds while it runs.

Registering, in the app's ``AppConfig.ready()``::

    from campagne.core import recovery

    recovery.register("mailing", recover_stalled_sendings)

A recovery function takes no argument, finds the work whose heartbeat is older than its
own stall timeout, queues it again, and returns how many items it queued. It must be
safe when several workers run it at the same moment: claim each item with a conditional
``UPDATE … WHERE status = 'running' AND heartbeat_at < cutoff`` (or
``select_for_update``) and enqueue only what this call claimed, after commit
(``transaction.on_commit``), so that exactly one worker queues it. The task it queues
must be idempotent (resume where the dead one stopped), since a worker merely slow, not
dead, may still be running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

RecoveryFunction = Callable[[], int]

_registry: dict[str, RecoveryFunction] = {}


def register(name: str, function: RecoveryFunction) -> None:
    """Register ``function`` under ``name`` (registering the same name again replaces it,
    so that ``ready()`` running twice in tests registers nothing twice)."""
    _registry[name] = function


def unregister(name: str) -> None:
    _registry.pop(name, None)


def registered() -> dict[str, RecoveryFunction]:
    return dict(_registry)


def recover_all() -> dict[str, int]:
    """Run every recovery function; ``name → items queued again``.

    One function failing (the database locked by a long write, a bug) is logged and does
    not stop the others: the next round tries again.
    """
    queued: dict[str, int] = {}
    for name, function in registered().items():
        try:
            queued[name] = function()
        except Exception:
            logger.exception("recovery %s failed; trying again at the next round", name)
            queued[name] = 0
        if queued[name]:
            logger.warning("recovery %s: %s item(s) queued again", name, queued[name])
    return queued


class RecoveryThread(threading.Thread):
    """Runs ``recover_all`` every ``interval`` seconds until ``stop()``.

    A daemon thread beside the worker's loop: it keeps recovering while the worker is busy
    with an hour-long task, and never delays a task. It has its own database connection
    (Django's are per thread), closed after each round.
    """

    def __init__(self, interval: float) -> None:
        super().__init__(name="campagne-recovery", daemon=True)
        self.interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            close_old_connections()
            try:
                recover_all()
            finally:
                connection.close()

    def stop(self) -> None:
        self._stopped.set()
