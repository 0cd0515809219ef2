"""Background turf cutting for big campaigns (queue "default")."""

from django_tasks import task

from campagne.canvassing import actions
from campagne.canvassing.models import CutStatus, FieldCampaign


@task(queue_name="default")
def cut_campaign_task(campaign_id: int) -> str:
    """Cut a campaign queued by ``actions.cut_campaign``; a cut that is no longer queued
    (already done, or running in another worker) is left alone."""
    claimed = FieldCampaign.objects.filter(pk=campaign_id, cut_status=CutStatus.QUEUED).update(
        cut_status=CutStatus.RUNNING
    )
    if not claimed:
        return "skipped"
    result = actions.run_cut(campaign_id)
    return f"{result.turfs} turfs"
