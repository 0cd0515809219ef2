"""Background task of the imports: run (or resume) one batch, by id."""

from django.conf import settings
from django_tasks import task

from campagne.imports import actions
from campagne.imports.pipeline import ImportInterrupted


@task(queue_name="imports")
def run_import_task(batch_id: int) -> dict[str, int]:
    """Idempotent: a finished batch is left as it is; an interrupted one resumes.

    A worker asked to stop (SIGTERM) ends the import after its current chunk and queues it
    again, so that the next worker carries on from there.
    """
    try:
        return actions.run_import(
            batch_id=batch_id,
            chunk_size=settings.CAMPAGNE_IMPORT_CHUNK_SIZE or None,
            pause=settings.CAMPAGNE_IMPORT_PAUSE_MS / 1000,
        ).counts
    except ImportInterrupted:
        actions.requeue_interrupted(batch_id=batch_id)
        raise
