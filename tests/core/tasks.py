"""Tasks the worker tests enqueue: each leaves a visible trace, a tag of the given name."""

import time

from django_tasks import task

from campagne.people.models import Tag


def _tag(name: str) -> str:
    return Tag.objects.create(name=name).name


@task()
def tag_default(name: str) -> str:
    return _tag(name)


@task(queue_name="imports")
def tag_imports(name: str) -> str:
    return _tag(name)


@task(queue_name="mailing")
def tag_mailing(name: str) -> str:
    return _tag(name)


@task()
def tag_slowly(name: str, seconds: float) -> str:
    time.sleep(seconds)
    return _tag(name)
