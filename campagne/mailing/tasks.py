"""Background tasks of the mailings (queue "mailing")."""

from django_tasks import task

from campagne.mailing import sending


@task(queue_name="mailing")
def send_mailing_task(mailing_id: int) -> dict[str, int]:
    """Idempotent: sends whatever is still queued; several may run at once."""
    return sending.send_mailing(mailing_id)
