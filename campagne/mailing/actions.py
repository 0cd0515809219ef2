"""Writes on mailings: start (freeze the audience), resume, unsubscribe."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce, JSONObject, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.models import Role, User
from campagne.accounts.scopes import Scope, scope_for
from campagne.mailing import ab_test, approval, smtp
from campagne.mailing.message import recipient_from_token
from campagne.mailing.models import Mailing, Recipient
from campagne.people import actions as people_actions
from campagne.people.models import Channel, Consent, PersonQuerySet, Suppression
from campagne.people.models import suppression_digest as digest_of

UNSUBSCRIBE_SOURCE = "désinscription e-mail"


def system_scope() -> Scope:
    """Who acts for a person clicking "unsubscribe": a transient HQ admin, never saved."""
    user = User(email="system@campagne", role=Role.HQ_ADMIN)
    user.is_active = True
    return scope_for(user)


def require_send(scope: Scope) -> None:
    scope.require(scope.can_send_mailings, _("Votre rôle ne permet pas d'envoyer des e-mails."))


def audience(scope: Scope, mailing: Mailing) -> PersonQuerySet:
    """People of ``scope`` in the included segments, minus the excluded ones, who have an
    address and gave their e-mail consent (still granted, so never unsubscribed)."""
    included = list(mailing.segments.all())
    if not included:
        return scope.people().none()
    condition = Q()
    for segment in included:
        condition |= Q(pk__in=segment.members(scope).values("pk"))
    people = scope.people().filter(condition)
    for segment in mailing.excluded_segments.all():
        people = people.exclude(pk__in=segment.members(scope).values("pk"))
    consent = Consent.objects.filter(person=OuterRef("pk"), channel=Channel.EMAIL, granted=True)
    return people.exclude(email="").filter(Exists(consent))


def _insert_recipients(scope: Scope, mailing: Mailing) -> int:
    """INSERT … SELECT: one row per distinct lower-cased address (the lowest person id wins)."""
    rows = (
        audience(scope, mailing)
        .order_by("pk")
        .annotate(
            _mailing=Value(mailing.pk),
            _email=Lower("email"),
            _merge=JSONObject(
                prenom="first_name",
                nom="last_name",
                civilite="civility",
                commune=Coalesce("commune__name", Value("")),
                code_postal="postal_code",
                origine="origin",
            ),
            _status=Value(Recipient.Status.QUEUED),
            _claimed_by=Value(""),
            _zero=Value(0),
            _error=Value(""),
            _message_id=Value(""),
        )
        .values_list(
            "_mailing",
            "pk",
            "_email",
            "_merge",
            "_status",
            "_claimed_by",
            "_zero",
            "_error",
            "_message_id",
        )
    )
    select, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(Recipient._meta.db_table)
    columns = "mailing_id, person_id, email, merge, status, claimed_by, attempts, error"
    sql = f"INSERT INTO {table} ({columns}, message_id) {select} ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _remove_suppressed(mailing: Mailing) -> int:
    """Drop rows whose address is on the suppression list (bounces, complaints, erasures).

    The list holds keyed hashes only, so the comparison is made here, by batches.
    """
    removed = 0
    rows = Recipient.objects.filter(mailing=mailing).order_by("id").values_list("id", "email")
    batch: dict[str, int] = {}

    def flush() -> int:
        found = Suppression.objects.filter(digest__in=batch.keys()).values_list("digest", flat=True)
        ids = [batch[digest] for digest in found]
        batch.clear()
        return Recipient.objects.filter(id__in=ids).delete()[0] if ids else 0

    for pk, email in rows.iterator(chunk_size=5000):
        batch[digest_of("email", email)] = pk
        if len(batch) >= 5000:
            removed += flush()
    if batch:
        removed += flush()
    return removed


def _apply_weekly_cap(mailing: Mailing) -> int:
    """Leave out people who already received MAILING_WEEKLY_CAP mailings (messages
    actually sent) in the last 7 days; returns how many rows were left out."""
    cap = settings.MAILING_WEEKLY_CAP
    if cap <= 0:
        return 0
    since = timezone.now() - timedelta(days=7)
    saturated = (
        Recipient.objects.filter(
            status=Recipient.Status.SENT, sent_at__gte=since, person__isnull=False
        )
        .exclude(mailing=mailing)
        .order_by()
        .values("person")
        .annotate(received=Count("id"))
        .filter(received__gte=cap)
        .values("person")
    )
    return Recipient.objects.filter(mailing=mailing, person__in=saturated).delete()[0]


def _enqueue(mailing_id: int) -> None:
    from campagne.mailing.tasks import send_mailing_task

    for _n in range(max(1, settings.MAILING_SEND_TASKS)):
        send_mailing_task.enqueue(mailing_id)


def start_sending(*, scope: Scope, mailing: Mailing) -> dict[str, int]:
    """Freeze the audience into recipient rows and enqueue the send tasks."""
    require_send(scope)
    if not mailing.sender.validated:
        raise ValidationError({"sender": _("Cet expéditeur n'a pas été validé par le QG.")})
    approval.require_approved(mailing)
    smtp.check_configured()
    with transaction.atomic():
        started = Mailing.objects.filter(
            pk=mailing.pk, status__in=[Mailing.Status.DRAFT, Mailing.Status.SCHEDULED]
        ).update(status=Mailing.Status.SENDING, started_at=timezone.now())
        if not started:
            raise ValidationError(_("Cet envoi a déjà commencé."))
        inserted = _insert_recipients(scope, mailing)
        capped = _apply_weekly_cap(mailing)
        suppressed = _remove_suppressed(mailing)
        if ab_test.is_ab_test(mailing):
            ab_test.split_sample(mailing)
        transaction.on_commit(lambda: _enqueue(mailing.pk))
    mailing.refresh_from_db()
    result = {"recipients": inserted - capped - suppressed, "suppressed": suppressed}
    if settings.MAILING_WEEKLY_CAP > 0:
        result["capped"] = capped
    return result


def resume_sending(*, scope: Scope, mailing: Mailing) -> None:
    """Enqueue send tasks again for a mailing that is sending (after a crash, say)."""
    require_send(scope)
    if mailing.status != Mailing.Status.SENDING:
        raise ValidationError(_("Cet envoi n'est pas en cours."))
    transaction.on_commit(lambda: _enqueue(mailing.pk))


def unsubscribe(*, token: str, at: Any = None) -> Recipient | None:
    """Withdraw the e-mail consent of the person a message was sent to (idempotent).

    None when the token is not one of ours (tampered with, or the row is gone).
    """
    pk = recipient_from_token(token)
    recipient = Recipient.objects.select_related("person").filter(pk=pk).first() if pk else None
    if recipient is None or recipient.person is None:
        return recipient
    at = at or timezone.now()
    with transaction.atomic():
        current = Consent.objects.filter(person=recipient.person, channel=Channel.EMAIL).first()
        if current is not None and not current.granted:
            return recipient
        proof = {"mailing": recipient.mailing_id, "recipient": recipient.pk, "at": at.isoformat()}
        people_actions.set_consent(
            scope=system_scope(),
            person=recipient.person,
            channel=Channel.EMAIL,
            granted=False,
            source=UNSUBSCRIBE_SOURCE,
            proof=json.dumps(proof),
            at=at,
        )
    return recipient


@transaction.atomic
def create_mailing(
    *, scope: Scope, segments: Any, excluded_segments: Any = (), **fields: Any
) -> Mailing:
    """A draft mailing owned by the user of ``scope``."""
    require_send(scope)
    mailing = Mailing.objects.create(created_by=scope.user, **fields)
    mailing.segments.set(segments)
    mailing.excluded_segments.set(excluded_segments)
    return mailing


def _move(mailing: Mailing, sources: list[str], target: str, message: str) -> None:
    """Conditional status change: no check-then-act against a worker finishing the send."""
    moved = Mailing.objects.filter(pk=mailing.pk, status__in=sources).update(status=target)
    if not moved:
        raise ValidationError(message)
    mailing.status = target


def pause_sending(*, scope: Scope, mailing: Mailing) -> None:
    """Workers stop claiming rows (those already claimed are still sent)."""
    require_send(scope)
    _move(
        mailing, [Mailing.Status.SENDING], Mailing.Status.PAUSED, _("Cet envoi n'est pas en cours.")
    )


def resume_paused(*, scope: Scope, mailing: Mailing) -> None:
    require_send(scope)
    with transaction.atomic():
        _move(
            mailing,
            [Mailing.Status.PAUSED],
            Mailing.Status.SENDING,
            _("Cet envoi n'est pas en pause."),
        )
        transaction.on_commit(lambda: _enqueue(mailing.pk))


def cancel_sending(*, scope: Scope, mailing: Mailing) -> None:
    """No more messages leave; the rows still queued stay as the record of who was left."""
    require_send(scope)
    active = [
        Mailing.Status.DRAFT,
        Mailing.Status.SCHEDULED,
        Mailing.Status.SENDING,
        Mailing.Status.PAUSED,
    ]
    _move(mailing, active, Mailing.Status.CANCELLED, _("Cet envoi est déjà terminé."))


def send_test(*, scope: Scope, mailing: Mailing, addresses: list[str]) -> list[str]:
    """Send the mailing now to a few staff addresses, merge fields at their fallbacks.

    No recipient row, no consent check (these are the team's own addresses); the subject
    is prefixed with [TEST] so nobody mistakes it for the real send. Returns the
    Message-IDs; raises smtp.Rejected on a refusal.
    """
    from campagne.mailing.message import Skeleton, dkim_signer_from_settings

    require_send(scope)
    smtp.check_configured()
    if not 1 <= len(addresses) <= 10:
        raise ValidationError(_("Indiquez entre 1 et 10 adresses de test."))
    test = Mailing(
        pk=mailing.pk,
        sender=mailing.sender,
        subject=f"[TEST] {mailing.subject}",
        preheader=mailing.preheader,
        body=mailing.body,
        reason=mailing.reason,
    )
    skeleton = Skeleton(test, dkim=dkim_signer_from_settings(mailing.sender.domain))
    connection = smtp.Connection()
    sent = []
    try:
        for index, address in enumerate(addresses):
            # Negative ids: their unsubscribe links match no recipient and change nothing.
            message_id, message = skeleton.build(
                recipient_id=-(index + 1), email=address, merge={}, origin="test"
            )
            connection.deliver(mailing.sender.address, address, message, lambda: True)
            sent.append(message_id)
    finally:
        connection.close()
    return sent


# --- What the e-mail services report back (django-anymail tracking webhooks) ----------

COMPLAINT_SOURCE = "plainte (signalé comme spam)"
ESP_UNSUBSCRIBE_SOURCE = "désinscription auprès du service d'e-mail"
HARD_BOUNCE_EVENTS = {"bounced", "rejected"}


def recipient_for_event(
    *, message_id: str = "", metadata: dict[str, Any] | None = None, email: str = ""
) -> Recipient | None:
    """The recipient row an e-mail service's event is about: by the id we gave in its
    metadata, by the service's message id stored at sending, or by our own Message-ID
    (SMTP relays quote it; it starts with the row id). The address must match."""
    from campagne.mailing.esp import RECIPIENT_METADATA

    candidates = Recipient.objects.select_related("person")
    found = None
    pk = str((metadata or {}).get(RECIPIENT_METADATA, ""))
    if pk.isdigit():
        found = candidates.filter(pk=int(pk)).first()
    if found is None and message_id:
        found = candidates.filter(esp_message_id=message_id).first()
    if found is None and message_id:
        bare = message_id.strip().strip("<>")
        head = bare.partition(".")[0]
        if head.isdigit():
            found = candidates.filter(pk=int(head), message_id=f"<{bare}>").first()
    if found is not None and email and found.email != email.strip().lower():
        return None
    return found


def _withdraw_email_consent(person: Any, source: str, proof: dict[str, Any], at: Any) -> None:
    current = Consent.objects.filter(person=person, channel=Channel.EMAIL).first()
    if current is not None and not current.granted:
        return
    people_actions.set_consent(
        scope=system_scope(),
        person=person,
        channel=Channel.EMAIL,
        granted=False,
        source=source,
        proof=json.dumps(proof),
        at=at,
    )


@transaction.atomic
def record_delivery_event(
    *,
    event_type: str,
    esp_name: str,
    email: str = "",
    message_id: str = "",
    metadata: dict[str, Any] | None = None,
    event_id: str = "",
    description: str = "",
    at: Any = None,
) -> Recipient | None:
    """Apply what an e-mail service reports (idempotent: services redeliver webhooks).

    bounced/rejected: the row is a hard bounce, the address is suppressed; deferred: a
    soft bounce is noted; complained: the address is suppressed and the e-mail consent
    withdrawn; unsubscribed: the consent is withdrawn (with the event as proof, in the
    person's timeline). Other events (delivered, opened…) are not delivery outcomes.
    """
    at = at or timezone.now()
    recipient = recipient_for_event(message_id=message_id, metadata=metadata, email=email)
    address = (email or (recipient.email if recipient else "")).strip().lower()
    if event_type in HARD_BOUNCE_EVENTS:
        if recipient is not None:
            Recipient.objects.filter(
                pk=recipient.pk,
                status__in=[
                    Recipient.Status.SENDING,
                    Recipient.Status.SENT,
                    Recipient.Status.FAILED,
                ],
            ).update(
                status=Recipient.Status.BOUNCED,
                bounce=Recipient.Bounce.HARD,
                error=f"{esp_name} : {description or event_type}"[:500],
            )
        _suppress(address, Suppression.Reason.BOUNCE)
    elif event_type == "deferred" and recipient is not None:
        Recipient.objects.filter(pk=recipient.pk, bounce="").update(bounce=Recipient.Bounce.SOFT)
    elif event_type in ("complained", "unsubscribed"):
        complaint = event_type == "complained"
        if complaint:
            _suppress(address, Suppression.Reason.COMPLAINT)
            if recipient is not None:
                Recipient.objects.filter(pk=recipient.pk, complained_at__isnull=True).update(
                    complained_at=at
                )
        proof = {
            "service": esp_name,
            "event": event_type,
            "event_id": event_id,
            "message_id": message_id,
            "mailing": recipient.mailing_id if recipient else None,
            "recipient": recipient.pk if recipient else None,
            "at": at.isoformat(),
        }
        if recipient is not None and recipient.person is not None:
            people = [recipient.person]
        elif address:
            people = list(system_scope().people().filter(email__iexact=address))
        else:
            people = []
        source = COMPLAINT_SOURCE if complaint else ESP_UNSUBSCRIBE_SOURCE
        for person in people:
            _withdraw_email_consent(person, source, proof, at)
    if recipient is not None:
        recipient.refresh_from_db()
    return recipient


def _suppress(address: str, reason: str) -> None:
    if address:
        Suppression.objects.get_or_create(
            digest=digest_of("email", address),
            defaults={"kind": Suppression.Kind.EMAIL, "reason": reason},
        )


# --- Recovery after a killed worker (campagne.core.recovery) -------------------------


def recover_stalled_sendings() -> int:
    """Queue the send tasks again of mailings whose workers died; return how many.

    A send task dies with its worker (``kill -9``, a machine lost). A mailing that is
    sending is stalled when it has claims older than MAILING_CLAIM_TIMEOUT (a dead
    worker's), or rows due with no claim for that long and no send task waiting in the
    queue. Each is claimed by a conditional update of ``recovered_at`` (at most once per
    timeout), so that of several workers recovering at once exactly one queues it; the
    tasks are idempotent and requeue the dead claims themselves.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.MAILING_CLAIM_TIMEOUT)
    queued = 0
    sending_ids = Mailing.objects.filter(status=Mailing.Status.SENDING).values_list("pk", flat=True)
    for mailing_id in list(sending_ids):
        if not _stalled(mailing_id, cutoff=cutoff, now=now):
            continue
        with transaction.atomic():
            claimed = (
                Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING)
                .filter(Q(recovered_at__isnull=True) | Q(recovered_at__lt=cutoff))
                .update(recovered_at=now)
            )
            if claimed:
                transaction.on_commit(partial(_enqueue, mailing_id))
                queued += 1
    return queued


def _stalled(mailing_id: int, *, cutoff: Any, now: Any) -> bool:
    rows = Recipient.objects.filter(mailing_id=mailing_id)
    S = Recipient.Status
    if rows.filter(status__in=[S.CLAIMED, S.SENDING], claimed_at__lt=cutoff).exists():
        return True
    due = rows.filter(status=S.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if not due.exists() or rows.filter(claimed_at__gte=cutoff).exists():
        return False
    return not _send_task_waiting(mailing_id)


def _send_task_waiting(mailing_id: int) -> bool:
    """A send task for this mailing is in the database queue, not yet started."""
    from django_tasks_db.models import DBTaskResult

    from campagne.mailing.tasks import send_mailing_task

    return (
        DBTaskResult.objects.ready()
        .filter(task_path=send_mailing_task.module_path, args_kwargs__args__0=mailing_id)
        .exists()
    )
