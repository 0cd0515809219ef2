"""Field campaigns: door-to-door and phone banking on one engine.

A ``FieldCampaign`` covers polling stations (doors) or a segment (calls). Door campaigns
cut their stations' addresses into ``Turf``s of ``TurfStop``s (a household: an address
and its number of doors), ordered into a walking route. Organizers plan ``Session``s (a
turf, a time slot, a meeting point, a volunteer or a team); what happens at each door or
call is a ``Canvass`` (one outcome model for both channels), created on the phone with a
client UUID so that sending it twice stores it once. After a session the volunteer sends
a ``SessionReport``. Phone campaigns queue ``CallTarget``s that callers claim one at a
time.

Who sees what is decided in ``campagne.accounts.scopes`` (``field_campaigns()``,
``turfs()``, ``sessions()``, ``canvasses()``), never here.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    DOOR = "door", _("Porte-à-porte")
    PHONE = "phone", _("Phoning")


class CutStatus(models.TextChoices):
    NONE = "none", _("Pas encore découpée")
    QUEUED = "queued", _("Découpage en attente")
    RUNNING = "running", _("Découpage en cours")
    DONE = "done", _("Découpée")
    FAILED = "failed", _("Découpage échoué")


class FieldCampaign(models.Model):
    """A door-to-door or calling operation, with its script, questionnaire and goals."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("En cours")
        ARCHIVED = "archived", _("Archivée")

    name = models.CharField(_("nom"), max_length=150)
    channel = models.CharField(
        _("type"), max_length=5, choices=Channel.choices, default=Channel.DOOR
    )
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    starts_on = models.DateField(_("début"), null=True, blank=True)
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    # The territory the campaign belongs to: organizers of this département (or of a
    # commune where it has turfs) see it. Empty = national, HQ only.
    departement = models.ForeignKey(
        "territory.Departement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("département"),
    )
    stations = models.ManyToManyField(
        "elections.PollingStation",
        blank=True,
        related_name="field_campaigns",
        verbose_name=_("bureaux de vote"),
    )
    # Phone banking: who is called (people with a phone and a granted phone consent).
    segment = models.ForeignKey(
        "segments.Segment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="field_campaigns",
        verbose_name=_("segment appelé"),
    )
    script = models.TextField(_("argumentaire"), blank=True, max_length=20000)
    # [{"key": "issues", "label": "...", "kind": "choice|multi|text|scale", "choices": []}]
    questionnaire = models.JSONField(_("questionnaire"), default=list, blank=True)
    goal_doors = models.PositiveIntegerField(_("objectif de portes"), default=0)
    goal_conversations = models.PositiveIntegerField(_("objectif de conversations"), default=0)
    target_turf_doors = models.PositiveIntegerField(_("portes par secteur"), default=60)
    # Volunteers may take an open turf of their territory themselves.
    allow_claim = models.BooleanField(_("les militants peuvent choisir un secteur"), default=False)
    teams = models.ManyToManyField(
        "Team", blank=True, related_name="campaigns", verbose_name=_("équipes")
    )
    # Phone banking rules.
    call_cooldown_hours = models.PositiveIntegerField(_("délai avant de rappeler (h)"), default=72)
    quiet_start = models.TimeField(_("pas d'appel après"), default="20:00")
    quiet_end = models.TimeField(_("pas d'appel avant"), default="09:00")
    no_calls_on_sunday = models.BooleanField(_("pas d'appel le dimanche"), default=True)
    # Where the stations were picked from (the top of this profile's ranking), if anywhere.
    targeting_profile = models.ForeignKey(
        "targeting.TargetingProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("profil de ciblage"),
    )
    # Turf cutting, run in the background for big campaigns: its state for the page.
    cut_status = models.CharField(
        _("découpage"), max_length=8, choices=CutStatus.choices, default=CutStatus.NONE
    )
    cut_progress = models.PositiveSmallIntegerField(_("avancement du découpage (%)"), default=0)
    cut_message = models.CharField(max_length=300, blank=True, default="")
    cut_at = models.DateTimeField(_("découpé le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("créée par"),
    )
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campagne de terrain")
        verbose_name_plural = _("campagnes de terrain")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """Volunteers who go out together, led by one of them or an organizer."""

    name = models.CharField(_("nom"), max_length=120)
    commune = models.ForeignKey(
        "territory.Commune",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("commune"),
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsable"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="canvass_teams",
        verbose_name=_("membres"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("équipe")

    def __str__(self) -> str:
        return self.name


class Turf(models.Model):
    """A walk of about two hours: households of one station, in walking order."""

    class Status(models.TextChoices):
        OPEN = "open", _("Libre")
        ASSIGNED = "assigned", _("Attribué")
        DONE = "done", _("Terminé")

    campaign = models.ForeignKey(FieldCampaign, on_delete=models.CASCADE, related_name="turfs")
    number = models.PositiveIntegerField(_("numéro"))
    name = models.CharField(_("nom"), max_length=150, blank=True)
    # The station of its households (null only when a cut was allowed to cross stations).
    station = models.ForeignKey(
        "elections.PollingStation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="turfs",
        verbose_name=_("bureau de vote"),
    )
    # Scoping: organizers and volunteers see the turfs of their communes.
    commune = models.ForeignKey(
        "territory.Commune", on_delete=models.PROTECT, related_name="+", verbose_name=_("commune")
    )
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    # Kept in step with the stops by ``actions`` (sums shown in lists without a join).
    households = models.PositiveIntegerField(_("foyers"), default=0)
    doors = models.PositiveIntegerField(_("portes"), default=0)
    route_metres = models.PositiveIntegerField(_("longueur du parcours (m)"), default=0)
    meeting_label = models.CharField(_("point de rendez-vous"), max_length=200, blank=True)
    meeting_latitude = models.FloatField(null=True, blank=True)
    meeting_longitude = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["campaign", "number"]
        verbose_name = _("secteur")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="unique_turf_number")
        ]

    def __str__(self) -> str:
        return self.name or f"Secteur {self.number}"


class TurfStop(models.Model):
    """A household address of a turf, at its place in the walking order."""

    turf = models.ForeignKey(Turf, on_delete=models.CASCADE, related_name="stops")
    # Denormalised so that an address belongs to one turf per campaign (a constraint).
    campaign = models.ForeignKey(FieldCampaign, on_delete=models.CASCADE, related_name="+")
    address = models.ForeignKey("elections.Address", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(_("ordre de passage"), default=0)
    # A building with many flats counts each door.
    doors = models.PositiveIntegerField(_("portes"), default=1)

    class Meta:
        ordering = ["turf", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "address"], name="unique_stop_address")
        ]
        indexes = [models.Index(fields=["turf", "position"], name="stop_walk_order")]

    def __str__(self) -> str:
        return f"{self.turf_id}#{self.position} {self.address_id}"


class Session(models.Model):
    """A turf walked by a volunteer or a team during a time slot, from a meeting point."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Prévue")
        ACTIVE = "active", _("En cours")
        DONE = "done", _("Terminée")
        CANCELLED = "cancelled", _("Annulée")

    OPEN_STATUSES = (Status.PLANNED, Status.ACTIVE)

    campaign = models.ForeignKey(FieldCampaign, on_delete=models.CASCADE, related_name="sessions")
    turf = models.ForeignKey(Turf, on_delete=models.CASCADE, related_name="sessions")
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="canvass_sessions",
        verbose_name=_("militant"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
        verbose_name=_("équipe"),
    )
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    meeting_label = models.CharField(_("point de rendez-vous"), max_length=200, blank=True)
    meeting_latitude = models.FloatField(null=True, blank=True)
    meeting_longitude = models.FloatField(null=True, blank=True)
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    # True when the volunteer took an open turf themselves.
    claimed = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("session")
        constraints = [
            # One open session per turf: two volunteers never walk the same turf at the
            # same time, whatever the races between their requests (the database decides).
            models.UniqueConstraint(
                fields=["turf"],
                condition=Q(status__in=["planned", "active"]),
                name="one_open_session_per_turf",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.turf} {self.starts_at:%Y-%m-%d %H:%M}"


class Outcome(models.TextChoices):
    """What happened at a door or on a call: one model for both channels."""

    NOT_HOME = "not_home", _("Absent / pas de réponse")
    REFUSED = "refused", _("Refus de discuter")
    POSITIVE = "positive", _("Positif")
    NEGATIVE = "negative", _("Négatif")
    UNDECIDED = "undecided", _("Indécis")
    MOVED = "moved", _("A déménagé / mauvais numéro")
    COME_BACK = "come_back", _("Repasser / rappeler plus tard")
    INACCESSIBLE = "inaccessible", _("Inaccessible")


# The door opened (or the phone was answered) and somebody spoke to us.
OPENED_OUTCOMES = (Outcome.REFUSED, Outcome.POSITIVE, Outcome.NEGATIVE, Outcome.UNDECIDED)
# A conversation took place.
CONVERSATION_OUTCOMES = (Outcome.POSITIVE, Outcome.NEGATIVE, Outcome.UNDECIDED)


class Canvass(models.Model):
    """One door knocked or one call made, as recorded in the field (OSDI's "canvass").

    ``client_uuid`` is made on the phone when the volunteer records it: the server keeps
    the first copy it receives and answers the same for any later copy (idempotent sync).
    Political opinion (``support``, ``issues``, ``answers``) is sensitive data (RGPD
    art. 9): it is only stored when ``opinion_consent`` is true.
    """

    class Review(models.TextChoices):
        OK = "ok", _("Validé")
        FLAGGED = "flagged", _("À vérifier")
        REJECTED = "rejected", _("Écarté")

    client_uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.DOOR)
    campaign = models.ForeignKey(FieldCampaign, on_delete=models.CASCADE, related_name="canvasses")
    turf = models.ForeignKey(
        Turf, on_delete=models.SET_NULL, null=True, blank=True, related_name="canvasses"
    )
    session = models.ForeignKey(
        Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="canvasses"
    )
    address = models.ForeignKey(
        "elections.Address", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Flat or door within a building ("3e gauche"); empty for a house.
    door = models.CharField(_("porte"), max_length=60, blank=True, default="")
    # Scoping: the commune of the door (or of the person called).
    commune = models.ForeignKey(
        "territory.Commune", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="canvasses",
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="canvasses",
    )
    outcome = models.CharField(_("résultat"), max_length=12, choices=Outcome.choices)
    opinion_consent = models.BooleanField(_("accepte que son avis soit enregistré"), default=False)
    support = models.PositiveSmallIntegerField(_("soutien (1 à 5)"), null=True, blank=True)
    issues = models.JSONField(_("sujets importants"), default=list, blank=True)
    answers = models.JSONField(_("réponses"), default=dict, blank=True)
    wants_to_volunteer = models.BooleanField(_("veut devenir militant"), default=False)
    wants_contact = models.BooleanField(_("veut être recontacté"), default=False)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    accuracy_metres = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField(_("noté le"))
    received_at = models.DateTimeField(_("reçu le"), default=timezone.now, editable=False)
    # Two records for the same door in the same campaign: the latest recorded_at counts,
    # the other is kept but superseded (see docs/canvassing.md).
    superseded = models.BooleanField(default=False)
    review = models.CharField(
        _("vérification"), max_length=10, choices=Review.choices, default=Review.OK
    )
    flags = models.JSONField(_("signalements"), default=list, blank=True)
    # Set when an organizer accepts or rejects a flagged record (recording.review_canvasses);
    # a reviewed record is never flagged again by the plausibility checks.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("porte ou appel")
        verbose_name_plural = _("portes et appels")
        constraints = [
            models.CheckConstraint(
                condition=Q(support__isnull=True) | Q(support__gte=1, support__lte=5),
                name="canvass_support_1_to_5",
            ),
            # Opinions are never stored without the person's consent.
            models.CheckConstraint(
                condition=Q(opinion_consent=True) | Q(support__isnull=True),
                name="canvass_opinion_needs_consent",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "recorded_at"], name="canvass_campaign_time"),
            models.Index(fields=["turf", "address", "door"], name="canvass_door"),
            models.Index(fields=["volunteer", "recorded_at"], name="canvass_volunteer_time"),
            # The same door in a campaign (which record counts, recording.py).
            models.Index(fields=["address", "door", "campaign"], name="canvass_address_door"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.outcome} {self.recorded_at:%Y-%m-%d %H:%M}"


class SessionReport(models.Model):
    """What a volunteer tells the organizers after a session."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reports")
    # Made by the field app, which may send a report queued offline more than once.
    client_uuid = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    heard = models.TextField(_("ce que vous avez entendu"), blank=True, max_length=4000)
    problems = models.TextField(_("problèmes rencontrés"), blank=True, max_length=4000)
    material = models.TextField(_("matériel nécessaire"), blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("compte rendu de session")

    def __str__(self) -> str:
        return f"{self.session_id} {self.created_at:%Y-%m-%d}"


class CallTarget(models.Model):
    """A person of a phone campaign's segment, in the callers' queue.

    A caller takes the next available target with a conditional UPDATE (never two callers
    on one person); after the call it waits ``call_cooldown_hours`` before anyone calls
    again, unless the outcome closes it.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("À appeler")
        CALLING = "calling", _("En cours d'appel")
        DONE = "done", _("Terminé")

    campaign = models.ForeignKey(
        FieldCampaign, on_delete=models.CASCADE, related_name="call_targets"
    )
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    commune = models.ForeignKey(
        "territory.Commune", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_call_after = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="unique_call_target")
        ]
        indexes = [models.Index(fields=["campaign", "status", "id"], name="call_queue")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.person_id} {self.status}"
