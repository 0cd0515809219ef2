"""Scheduling a mailing (a start task with run_after), and pause/resume/cancel from the
pages and the API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from campagne.accounts.scopes import scope_for
from campagne.mailing import actions, scheduling, sending
from campagne.mailing.models import Mailing, Recipient
from tests.api.conftest import Api
from tests.mailing.conftest import consent, make_mailing


@pytest.fixture
def people(person_digne, person_manosque, person_gap):
    return [consent(person) for person in (person_digne, person_manosque, person_gap)]


def in_an_hour() -> str:
    return timezone.localtime(timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def start_tasks(mailing: Mailing) -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(task_path__endswith="start_scheduled_task").filter(
            args_kwargs__args__0=mailing.pk
        )
    )


def test_a_scheduled_mailing_starts_when_its_time_comes(
    client, smtp_server, organizer_04, sender, people, django_capture_on_commit_callbacks
):
    mailing = make_mailing(sender, created_by=organizer_04)
    client.force_login(organizer_04)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/m/{mailing.pk}/programmer/", {"scheduled_at": in_an_hour()})

    assert response.status_code == 302
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.scheduled_at > timezone.now() + timedelta(minutes=59)
    (task,) = start_tasks(mailing)
    assert task.run_after == mailing.scheduled_at
    assert task.queue_name == "mailing"
    assert "programmé pour le" in client.get(f"/m/{mailing.pk}/").content.decode()

    # Not yet: the worker's queue does not offer it.
    assert not DBTaskResult.objects.ready().filter(pk=task.pk).exists()

    # The time has come (moved back rather than waited for): the worker would run it with
    # the arguments stored in the queue.
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=timezone.now())
    assert DBTaskResult.objects.ready().filter(pk=task.pk).exists()
    assert task.task.call(*task.args_kwargs["args"]) == "started"

    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING
    sending.send_mailing(mailing.pk)
    # The organizer's scope: Digne and Manosque, not Gap.
    assert sorted(smtp_server.handler.by_address().values()) == [1, 1]
    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.SENT


def test_a_past_date_is_refused(client, organizer_04, sender):
    mailing = make_mailing(sender, created_by=organizer_04)
    client.force_login(organizer_04)
    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    page = client.post(f"/m/{mailing.pk}/programmer/", {"scheduled_at": past}, follow=True)

    assert "Choisissez une date dans le futur." in page.content.decode()
    mailing.refresh_from_db()
    assert (mailing.status, mailing.scheduled_at) == (Mailing.Status.DRAFT, None)
    assert start_tasks(mailing) == []


def test_cancelled_edited_or_moved_schedules_do_not_go(smtp_server, hq_admin, sender, people):
    scope = scope_for(hq_admin)
    first = timezone.now() + timedelta(hours=1)
    second = timezone.now() + timedelta(hours=2)
    mailing = make_mailing(sender, created_by=hq_admin)

    scheduling.schedule(scope=scope, mailing=mailing, at=first)
    scheduling.unschedule(scope=scope, mailing=mailing)
    assert scheduling.start_scheduled(mailing.pk, first.isoformat()) == "skipped"
    assert mailing.status == Mailing.Status.DRAFT

    scheduling.schedule(scope=scope, mailing=mailing, at=first)
    scheduling.schedule(scope=scope, mailing=mailing, at=second)  # moved
    assert scheduling.start_scheduled(mailing.pk, first.isoformat()) == "skipped"
    mailing.refresh_from_db()
    assert (mailing.status, mailing.scheduled_at) == (Mailing.Status.SCHEDULED, second)

    # An edit puts it back to draft.
    from campagne.mailing import composing

    composing.update_mailing(
        scope=scope, mailing=mailing, segments=mailing.segments.all(), subject="Changé"
    )
    assert scheduling.start_scheduled(mailing.pk, second.isoformat()) == "skipped"
    mailing.refresh_from_db()
    assert (mailing.status, mailing.scheduled_at) == (Mailing.Status.DRAFT, None)

    scheduling.schedule(scope=scope, mailing=mailing, at=first)
    actions.cancel_sending(scope=scope, mailing=mailing)
    assert scheduling.start_scheduled(mailing.pk, first.isoformat()) == "skipped"
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CANCELLED
    assert not Recipient.objects.exists()


def test_a_schedule_whose_author_lost_the_right_goes_back_to_draft(
    smtp_server, organizer_04, sender, people
):
    at = timezone.now() + timedelta(hours=1)
    mailing = make_mailing(sender, created_by=organizer_04)
    scheduling.schedule(scope=scope_for(organizer_04), mailing=mailing, at=at)
    organizer_04.is_active = False
    organizer_04.save()

    assert scheduling.start_scheduled(mailing.pk, at.isoformat()) == "refused"

    mailing.refresh_from_db()
    assert (mailing.status, mailing.scheduled_at) == (Mailing.Status.DRAFT, None)
    assert not Recipient.objects.exists()


def test_pause_resume_cancel_from_the_pages(client, smtp_server, organizer_04, sender, people):
    mailing = make_mailing(sender, created_by=organizer_04)
    actions.start_sending(scope=scope_for(organizer_04), mailing=mailing)
    client.force_login(organizer_04)

    assert "Mettre en pause" in client.get(f"/m/{mailing.pk}/").content.decode()
    client.post(f"/m/{mailing.pk}/pause/")
    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.PAUSED
    # Paused: the workers claim nothing.
    assert sending.send_mailing(mailing.pk) == {}
    client.post(f"/m/{mailing.pk}/reprendre/")
    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.SENDING
    client.post(f"/m/{mailing.pk}/annuler/")
    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.CANCELLED
    assert smtp_server.handler.received == []
    page = client.post(f"/m/{mailing.pk}/reprendre/", follow=True).content.decode()
    assert "pas en pause" in page


def test_others_cannot_schedule_pause_or_cancel(
    client, smtp_server, organizer_04, organizer_05, hq_staff, volunteer, sender, people
):
    mailing = make_mailing(sender, created_by=organizer_04)
    actions.start_sending(scope=scope_for(organizer_04), mailing=mailing)
    draft = make_mailing(sender, created_by=organizer_04)

    client.force_login(hq_staff)
    assert client.post(f"/m/{mailing.pk}/pause/").status_code == 403
    assert client.post(f"/m/{mailing.pk}/annuler/").status_code == 403
    assert (
        client.post(f"/m/{draft.pk}/programmer/", {"scheduled_at": in_an_hour()}).status_code == 403
    )
    assert Api(hq_staff).post(f"/mailings/{mailing.pk}/cancel").status_code == 403
    for outsider in (organizer_05, volunteer):
        client.force_login(outsider)
        assert client.post(f"/m/{mailing.pk}/pause/").status_code == 404
        assert (
            client.post(f"/m/{draft.pk}/programmer/", {"scheduled_at": in_an_hour()}).status_code
            == 404
        )
        assert Api(outsider).post(f"/mailings/{mailing.pk}/pause").status_code == 404

    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.SENDING
    assert Mailing.objects.get(pk=draft.pk).status == Mailing.Status.DRAFT
    assert start_tasks(draft) == []


def test_the_api_schedules_pauses_resumes_and_cancels(
    smtp_server, organizer_04, sender, people, django_capture_on_commit_callbacks
):
    api = Api(organizer_04)
    draft = make_mailing(sender, created_by=organizer_04)
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)

    with django_capture_on_commit_callbacks(execute=True):
        body = api.post(f"/mailings/{draft.pk}/schedule", {"scheduled_at": at.isoformat()}).json()
    assert body["status"] == "scheduled"
    assert len(start_tasks(draft)) == 1
    assert api.post(f"/mailings/{draft.pk}/unschedule").json()["status"] == "draft"
    past = {"scheduled_at": (timezone.now() - timedelta(days=1)).isoformat()}
    assert api.post(f"/mailings/{draft.pk}/schedule", past).status_code == 422

    mailing = make_mailing(sender, created_by=organizer_04)
    api.post(f"/mailings/{mailing.pk}/send")
    assert api.post(f"/mailings/{mailing.pk}/pause").json()["status"] == "paused"
    assert api.post(f"/mailings/{mailing.pk}/pause").status_code == 422
    assert api.post(f"/mailings/{mailing.pk}/resume").json()["status"] == "sending"
    body = api.post(f"/mailings/{mailing.pk}/cancel").json()
    assert (body["status"], body["counts"]["queued"]) == ("cancelled", 2)
