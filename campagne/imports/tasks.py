"""Background task of the imports: run (or resume) one batch, by id."""

from django_tasks import task

from campagne.imports import actions


@task(queue_name="imports")
def run_import_task(batch_id: int) -> dict[str, int]:
    """Idempotent: a finished batch is left as it is; an interrupted one resumes."""
    return actions.run_import(batch_id=batch_id).counts
