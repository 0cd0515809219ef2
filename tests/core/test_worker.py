"""`campagne worker`: the django-tasks database worker with Campagne's queues."""

import signal

from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from campagne.people.models import Tag
from tests.core.processes import wait_for
from tests.core.tasks import tag_default, tag_imports, tag_mailing, tag_slowly

# transactional_db: between tasks the worker closes a connection found inside a transaction
# (close_old_connections), which a test transaction would be.


def test_until_idle_runs_what_every_queue_holds_then_exits(transactional_db):
    results = [tag_default.enqueue("a"), tag_imports.enqueue("b"), tag_mailing.enqueue("c")]

    call_command("worker", until_idle=True, startup_delay=False, verbosity=0)

    assert sorted(Tag.objects.values_list("name", flat=True)) == ["a", "b", "c"]
    for result in results:
        result.refresh()
        assert result.status == TaskResultStatus.SUCCESSFUL
    assert not DBTaskResult.objects.ready().exists()


def test_queue_name_limits_the_worker_to_the_queues_given(transactional_db):
    mailing = tag_mailing.enqueue("courriel")
    imports = tag_imports.enqueue("import")

    call_command("worker", until_idle=True, startup_delay=False, queue_name="imports", verbosity=0)

    assert list(Tag.objects.values_list("name", flat=True)) == ["import"]
    mailing.refresh()
    imports.refresh()
    assert (mailing.status, imports.status) == (
        TaskResultStatus.READY,
        TaskResultStatus.SUCCESSFUL,
    )


def test_sigterm_lets_the_running_task_finish_then_exits(start_campagne):
    result = tag_slowly.enqueue("fini", seconds=2)
    worker = start_campagne("worker", "--no-startup-delay", "--interval=0.2")

    def running() -> bool:
        result.refresh()
        return result.status == TaskResultStatus.RUNNING

    wait_for(running, timeout=30, what="the worker to take the task")
    assert worker.stop(signal.SIGTERM) == 0

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert Tag.objects.filter(name="fini").exists()
    assert "shutting down gracefully" in worker.output
