"""Phone banking on the canvassing engine: the call queue, the next call, its outcome.

A phone campaign (``channel`` phone) calls the members of its segment who have a phone
and a granted phone consent. ``fill_call_queue`` copies them into ``CallTarget`` rows in
one ``INSERT … SELECT``; callers then take them one at a time with ``next_call``, which
claims a row with a conditional ``UPDATE … WHERE status = 'waiting'`` (on PostgreSQL the
candidate row is first locked with ``FOR UPDATE SKIP LOCKED`` so simultaneous callers
pass each other instead of queueing), so two callers never get the same person. A claim
left open (a closed browser) is released after ``STALE_CLAIM_MINUTES``.

The outcome of a call is a ``Canvass`` with ``channel`` phone: the same outcomes,
questionnaire and dashboard as the doors. After a call that did not close the target
(no answer, call back later) nobody calls that person again before the campaign's
cooldown. No call is given during the campaign's quiet hours (by default 20:00 to 09:00
and Sundays, Europe/Paris time).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts.models import Role
from campagne.accounts.scopes import Scope, scope_for
from campagne.canvassing.models import (
    OPENED_OUTCOMES,
    CallTarget,
    Canvass,
    Channel,
    FieldCampaign,
    Outcome,
)
from campagne.people.models import Channel as ConsentChannel
from campagne.people.models import Person

# A claim older than this is given back to the queue (the caller closed the page).
STALE_CLAIM_MINUTES = 20
# After this many calls without an answer, a person leaves the queue.
MAX_ATTEMPTS = 3
# Outcomes after which nobody calls again in this campaign.
CLOSING_OUTCOMES = frozenset(
    {
        Outcome.REFUSED,
        Outcome.POSITIVE,
        Outcome.NEGATIVE,
        Outcome.UNDECIDED,
        Outcome.MOVED,
        Outcome.INACCESSIBLE,
    }
)
# Claim attempts when other callers keep taking the candidate first (SQLite path).
CLAIM_RETRIES = 20


class NotNow(Exception):
    """No calls at this time (quiet hours); the message says when calls resume."""


# --- who may call ---------------------------------------------------------------------------
def can_call(scope: Scope, campaign: FieldCampaign) -> bool:
    """HQ admins and organizers (on a campaign they see), and volunteers of its teams.

    HQ staff read the results but do not call (read-only role).
    """
    if campaign.channel != Channel.PHONE or campaign.status != FieldCampaign.Status.ACTIVE:
        return False
    if scope.role in (Role.HQ_ADMIN, Role.ORGANIZER):
        return True
    if scope.role == Role.VOLUNTEER:
        return campaign.teams.filter(members=scope.user).exists()
    return False


def phone_campaigns_for(scope: Scope) -> QuerySet[FieldCampaign]:
    """The phone campaigns this user sees (volunteers: those of their teams)."""
    return scope.field_campaigns().filter(channel=Channel.PHONE)


def phone_campaign_for(scope: Scope, pk: Any) -> FieldCampaign:
    """The phone campaign with this id if this user sees it, else Http404."""
    try:
        return phone_campaigns_for(scope).select_related("segment").get(pk=pk)
    except (ValueError, TypeError, FieldCampaign.DoesNotExist):
        raise Http404("No such phone campaign.") from None


# --- quiet hours ----------------------------------------------------------------------------
def _as_time(value: dt.time | str) -> dt.time:
    # A campaign just created with the defaults holds them as "20:00" until reloaded.
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


def is_quiet(campaign: FieldCampaign, at: dt.datetime | None = None) -> bool:
    """Whether ``at`` (now by default) falls in the campaign's no-call hours, in French time."""
    local = timezone.localtime(at or timezone.now(), zoneinfo.ZoneInfo(settings.TIME_ZONE))
    if campaign.no_calls_on_sunday and local.weekday() == 6:
        return True
    start, end, now = _as_time(campaign.quiet_start), _as_time(campaign.quiet_end), local.time()
    if start == end:
        return False
    if start > end:  # across midnight: 20:00 → 09:00
        return now >= start or now < end
    return start <= now < end


def quiet_message(campaign: FieldCampaign) -> str:
    message = _("Pas d'appel entre %(start)s et %(end)s") % {
        "start": _as_time(campaign.quiet_start).strftime("%H:%M"),
        "end": _as_time(campaign.quiet_end).strftime("%H:%M"),
    }
    if campaign.no_calls_on_sunday:
        message += _(" ni le dimanche")
    return message + "."


# --- the queue ------------------------------------------------------------------------------
def callable_people(campaign: FieldCampaign, scope: Scope) -> QuerySet[Person]:
    """The segment's members within ``scope`` who have a phone and gave phone consent."""
    if campaign.segment is None:
        return Person.objects.none()
    members = campaign.segment.members(scope)
    return Person.objects.filter(
        pk__in=members.order_by().values("pk"),
        consents__channel=ConsentChannel.PHONE,
        consents__granted=True,
    ).exclude(phone="")


def fill_call_queue(campaign: FieldCampaign, *, scope: Scope | None = None) -> int:
    """Queue the callable people of the campaign's segment; return how many were added.

    The segment is read within the scope of the campaign's creator (an organizer's queue
    never holds anyone outside their territories), in one ``INSERT … SELECT``; people
    already queued stay as they are, so filling again after the segment grew adds only
    the newcomers.
    """
    if campaign.channel != Channel.PHONE:
        raise ValidationError(_("Seule une campagne d'appels a une file d'appels."))
    if campaign.segment_id is None:
        raise ValidationError(_("Cette campagne d'appels n'a pas de segment."))
    scope = scope or scope_for(campaign.created_by)
    queued = CallTarget.objects.filter(campaign=campaign).values("person_id")
    people = (
        callable_people(campaign, scope)
        .exclude(pk__in=queued)
        .order_by("pk")
        .values_list(
            Value(campaign.pk), "pk", "commune_id", Value(CallTarget.Status.WAITING), Value(0)
        )
    )
    select, params = people.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(CallTarget._meta.db_table)
    columns = ", ".join(
        quote(CallTarget._meta.get_field(name).column)
        for name in ("campaign", "person", "commune", "status", "attempts")
    )
    # Table and columns come from the model; the SELECT is the ORM's with its parameters.
    # ON CONFLICT: a fill racing another one skips the people it already queued.
    sql = f"INSERT INTO {table} ({columns}) {select} ON CONFLICT DO NOTHING"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def release_stale_claims(campaign: FieldCampaign, *, now: dt.datetime | None = None) -> int:
    """Give back to the queue the calls claimed more than ``STALE_CLAIM_MINUTES`` ago."""
    limit = (now or timezone.now()) - dt.timedelta(minutes=STALE_CLAIM_MINUTES)
    return CallTarget.objects.filter(
        campaign=campaign, status=CallTarget.Status.CALLING, claimed_at__lt=limit
    ).update(status=CallTarget.Status.WAITING, caller=None, claimed_at=None)


def current_call(scope: Scope, campaign: FieldCampaign) -> CallTarget | None:
    """The call this user has claimed and not finished in this campaign, if any."""
    if not getattr(scope.user, "pk", None):
        return None
    return (
        CallTarget.objects.filter(
            campaign=campaign, status=CallTarget.Status.CALLING, caller=scope.user
        )
        .select_related("person", "person__commune")
        .first()
    )


def _candidates(scope: Scope, campaign: FieldCampaign, now: dt.datetime) -> QuerySet[CallTarget]:
    pool = CallTarget.objects.filter(campaign=campaign)
    if scope.role == Role.ORGANIZER:
        # An organizer calls the people of their territories only.
        pool = scope.call_targets().filter(campaign=campaign)
    cooldown = now - dt.timedelta(hours=campaign.call_cooldown_hours)
    # Called recently by another campaign: wait too, a person is one person.
    recently_called = Canvass.objects.filter(
        person_id=OuterRef("person_id"), channel=Channel.PHONE, recorded_at__gt=cooldown
    )
    return (
        pool.filter(status=CallTarget.Status.WAITING)
        .filter(Q(next_call_after__isnull=True) | Q(next_call_after__lte=now))
        .filter(~Exists(recently_called))
        .order_by("next_call_after", "pk")
    )


def next_call(
    scope: Scope, campaign: FieldCampaign, *, now: dt.datetime | None = None
) -> CallTarget | None:
    """Give this caller the next person to call, or None when nobody is waiting.

    The caller's unfinished call comes back first. Raises PermissionDenied for a user
    who may not call, NotNow during quiet hours.
    """
    scope.require(
        can_call(scope, campaign), _("Votre rôle ne permet pas d'appeler pour cette campagne.")
    )
    now = now or timezone.now()
    if is_quiet(campaign, now):
        raise NotNow(quiet_message(campaign))
    mine = current_call(scope, campaign)
    if mine is not None:
        return mine
    release_stale_claims(campaign, now=now)
    skip_locked = connection.features.has_select_for_update_skip_locked
    for _attempt in range(CLAIM_RETRIES):
        with transaction.atomic():
            candidates = _candidates(scope, campaign, now)
            if skip_locked:
                # Rows another caller is claiming right now are passed over, not waited for.
                candidates = candidates.select_for_update(skip_locked=True, of=("self",))
            pk = candidates.values_list("pk", flat=True).first()
            if pk is None:
                return None
            claimed = CallTarget.objects.filter(pk=pk, status=CallTarget.Status.WAITING).update(
                status=CallTarget.Status.CALLING, caller=scope.user, claimed_at=now
            )
        if claimed:
            return CallTarget.objects.select_related("person", "person__commune").get(pk=pk)
        # Another caller took it between our read and our update: try the next one.
    return None


def release_call(scope: Scope, target: CallTarget) -> bool:
    """Put back, uncalled, the person this caller had claimed (a "skip")."""
    return bool(
        CallTarget.objects.filter(
            pk=target.pk, status=CallTarget.Status.CALLING, caller=scope.user
        ).update(status=CallTarget.Status.WAITING, caller=None, claimed_at=None)
    )


def record_call(
    *,
    scope: Scope,
    target: CallTarget,
    outcome: str,
    opinion_consent: bool = False,
    support: int | None = None,
    issues: list[str] | None = None,
    answers: dict[str, Any] | None = None,
    wants_to_volunteer: bool = False,
    wants_contact: bool = False,
    notes: str = "",
    now: dt.datetime | None = None,
) -> Canvass:
    """Record the outcome of this caller's call to ``target`` and free the target.

    The target goes back to the queue after the cooldown, or leaves it (an answer, a
    refusal, a wrong number, or ``MAX_ATTEMPTS`` calls). Opinions are dropped unless the
    person agreed to have them recorded. Raises ValidationError when the claim is no
    longer this caller's (released as stale and given to someone else).
    """
    if outcome not in Outcome.values:
        raise ValidationError(_("Résultat d'appel inconnu."))
    if support is not None and not 1 <= support <= 5:
        raise ValidationError(_("Le soutien va de 1 à 5."))
    now = now or timezone.now()
    campaign = target.campaign
    closes = outcome in CLOSING_OUTCOMES or target.attempts + 1 >= MAX_ATTEMPTS
    with transaction.atomic():
        # The claim decides: only its caller may close it, and only once.
        updated = CallTarget.objects.filter(
            pk=target.pk, status=CallTarget.Status.CALLING, caller=scope.user
        ).update(
            status=CallTarget.Status.DONE if closes else CallTarget.Status.WAITING,
            caller=None,
            claimed_at=None,
            attempts=target.attempts + 1,
            next_call_after=None
            if closes
            else now + dt.timedelta(hours=campaign.call_cooldown_hours),
        )
        if not updated:
            raise ValidationError(
                _("Cet appel ne vous est plus attribué : il a été remis dans la file.")
            )
        person = target.person
        canvass = Canvass.objects.create(
            channel=Channel.PHONE,
            campaign=campaign,
            commune_id=person.commune_id or target.commune_id,
            person=person,
            volunteer=scope.user,
            outcome=outcome,
            opinion_consent=opinion_consent,
            support=support if opinion_consent else None,
            issues=(issues or []) if opinion_consent else [],
            answers=(answers or {}) if opinion_consent else {},
            wants_to_volunteer=wants_to_volunteer,
            wants_contact=wants_contact,
            notes=notes[:2000],
            recorded_at=now,
        )
        if outcome in OPENED_OUTCOMES:
            # Somebody answered: the retention rules count from the last contact.
            Person.objects.filter(pk=person.pk).update(last_contact_at=now)
    return canvass


def require_caller_target(scope: Scope, campaign: FieldCampaign, pk: Any) -> CallTarget:
    """This caller's current target with id ``pk``; 404 for any other."""
    try:
        return CallTarget.objects.select_related("person", "campaign").get(
            pk=pk, campaign=campaign, status=CallTarget.Status.CALLING, caller=scope.user
        )
    except (ValueError, TypeError, CallTarget.DoesNotExist):
        raise Http404("No such call.") from None


def queue_counts(campaign: FieldCampaign, scope: Scope) -> dict[str, int]:
    """How many targets wait, are being called, are done (the caller page's header)."""
    targets = CallTarget.objects.filter(campaign=campaign)
    if scope.role == Role.ORGANIZER:
        targets = scope.call_targets().filter(campaign=campaign)
    counts = dict(
        targets.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in CallTarget.Status.values}
