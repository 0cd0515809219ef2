"""Background tasks of the elections app (queue "imports")."""

from django_tasks import task

from campagne.elections import actions


@task(queue_name="imports")
def run_import_job(job_id: int) -> str:
    """Run a queued ``ImportJob``; a second run of the same job does nothing."""
    job = actions.run_job(job_id)
    return job.status if job else "skipped"
