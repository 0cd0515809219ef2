"""People: the campaign's contact file (CRM).

Political opinion is sensitive data (RGPD art. 9): a person's file holds what the campaign
needs to reach them, the consents they gave with their proof, and an append-only timeline.
Reads go through ``campagne.accounts.scopes``; writes through ``campagne.people.actions``.
"""

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campagne.lib.prefix import prefix_q
from campagne.lib.text import search_key
from campagne.territory.models import Commune


class Status(models.TextChoices):
    """The engagement ladder, lowest rung first."""

    CONTACT = "contact", _("Contact")
    SYMPATHISANT = "sympathisant", _("Sympathisant")
    MILITANT = "militant", _("Bénévole (militant)")
    ADHERENT = "adherent", _("Adhérent")


class Civility(models.TextChoices):
    NONE = "", _("—")
    MME = "mme", _("Mme")
    M = "m", _("M.")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Téléphone")
    DOOR = "door", _("Suivi porte-à-porte")


class Tag(models.Model):
    name = models.CharField(_("nom"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("étiquette")

    def __str__(self) -> str:
        return self.name


def search_terms(text: str) -> tuple[str, str]:
    """What a search box holds: ("email", prefix), ("phone", E.164), ("name", key) or
    ("all", "") when it is empty."""
    from campagne.lib.phones import to_e164

    text = text.strip()
    if not text:
        return "all", ""
    if "@" in text:
        return "email", text.lower()
    phone = to_e164(text) if sum(c.isdigit() for c in text) >= 6 else None
    if phone:
        return "phone", phone
    return "name", search_key(text)


class PersonQuerySet(models.QuerySet["Person"]):
    def search(self, text: str) -> "PersonQuerySet":
        """Match a name (either order), an e-mail or a phone number, by indexed prefix."""
        kind, value = search_terms(text)
        if kind == "all":
            return self
        if kind == "email":
            return self.filter(prefix_q("email", value))
        if kind == "phone":
            return self.filter(phone=value)
        if not value:
            return self.none()
        return self.filter(prefix_q("search_name", value) | prefix_q("search_name_rev", value))

    def search_parts(self, text: str) -> list["PersonQuerySet"]:
        """``search(text)`` as ordered parts, each of which walks one index.

        A name is looked up as a last name first (ordered by last name), then as a first
        name (ordered by first name): each part reads its index in order and stops at
        the page, where one query with both prefixes would sort every match (a fifth of
        the file for one letter).
        """
        kind, value = search_terms(text)
        if kind != "name" or not value:
            return [self.search(text).order_by("search_name", "id")]
        by_last, by_first = prefix_q("search_name", value), prefix_q("search_name_rev", value)
        return [
            self.filter(by_last).order_by("search_name", "id"),
            self.filter(by_first).exclude(by_last).order_by("search_name_rev", "id"),
        ]

    def with_consent(self, channel: str) -> "PersonQuerySet":
        return self.filter(consents__channel=channel, consents__granted=True)

    def in_departement(self, code: str) -> "PersonQuerySet":
        return self.filter(commune__departement_id=code)

    def in_commune(self, code: str) -> "PersonQuerySet":
        """People of a commune; Paris, Lyon and Marseille include their arrondissements."""
        # A subquery of codes, not an OR through the join: the (commune, name) index serves it.
        codes = Commune.objects.filter(models.Q(code=code) | models.Q(parent_id=code))
        return self.filter(commune_id__in=codes.values("code"))


class Person(models.Model):
    civility = models.CharField(
        _("civilité"), max_length=3, choices=Civility.choices, blank=True, default=""
    )
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    last_name = models.CharField(_("nom"), max_length=100, blank=True)
    # "dupont jean" and "jean dupont": a typed prefix in either order hits an index.
    search_name = models.CharField(max_length=201, editable=False, db_index=True)
    search_name_rev = models.CharField(max_length=201, editable=False, db_index=True)
    email = models.EmailField(_("e-mail principal"), blank=True, db_index=True)
    phone = models.CharField(
        _("téléphone principal"), max_length=20, blank=True, db_index=True, help_text="E.164"
    )
    address_line = models.CharField(_("adresse"), max_length=200, blank=True)
    address_extra = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
        verbose_name=_("commune"),
        # person_commune_name and person_commune_status start with the commune: an index
        # of the commune alone would only cost every write (see Meta.indexes).
        db_index=False,
    )
    birth_year = models.PositiveSmallIntegerField(_("année de naissance"), null=True, blank=True)
    # Indexed by person_status_name, which starts with it.
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.CONTACT
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="people", verbose_name=_("étiquettes")
    )
    origin = models.CharField(
        _("origine des données"),
        max_length=200,
        help_text=_("Où et comment ces données ont été collectées (CNIL)."),
    )
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    # The last time the person was in touch with the campaign (answered, gave consent,
    # volunteered…): the retention rules count from it.
    last_contact_at = models.DateTimeField(_("dernier contact"), null=True, blank=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("personne")
        ordering = ["search_name", "id"]
        # An index on a column alone is left out when one of these starts with that column
        # (SQLite and PostgreSQL both use a composite index's leading column alone): each
        # index costs every insert, and a 700,000-row import inserts that many people.
        indexes = [
            models.Index(fields=["commune", "search_name"], name="person_commune_name"),
            models.Index(fields=["status", "search_name"], name="person_status_name"),
            # Segments and filters "status X in territory Y": counted from the index alone,
            # without reading the person rows (segments.definition, bench/segment_count.py).
            models.Index(fields=["commune", "status"], name="person_commune_status"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"#{self.pk}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.refresh_search_keys()
        self.email = self.email.strip().lower()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_name", "search_name_rev", "email"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def refresh_search_keys(self) -> None:
        first, last = search_key(self.first_name), search_key(self.last_name)
        self.search_name = f"{last} {first}".strip()
        self.search_name_rev = f"{first} {last}".strip()

    def consent_map(self) -> dict[str, "Consent"]:
        return {consent.channel: consent for consent in self.consents.all()}


class PersonEmail(models.Model):
    """Another e-mail address of a person, besides the primary one on ``Person.email``."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="other_emails")
    address = models.EmailField(_("e-mail"), db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "address"], name="unique_person_email")
        ]

    def __str__(self) -> str:
        return self.address


class PersonPhone(models.Model):
    """Another phone number of a person (E.164), besides ``Person.phone``."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="other_phones")
    number = models.CharField(_("téléphone"), max_length=20, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "number"], name="unique_person_phone")
        ]

    def __str__(self) -> str:
        return self.number


class Consent(models.Model):
    """The current consent of a person on one channel, with its proof.

    One row per (person, channel). Every change also appends a timeline event holding the
    previous and the new state, so a withdrawal is never a silent overwrite.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices)
    granted = models.BooleanField(_("accordé"))
    at = models.DateTimeField(_("date"), default=timezone.now)
    source = models.CharField(_("source"), max_length=200)
    proof = models.TextField(_("preuve"), blank=True)

    class Meta:
        verbose_name = _("consentement")
        constraints = [
            models.UniqueConstraint(fields=["person", "channel"], name="unique_consent_channel")
        ]
        indexes = [models.Index(fields=["channel", "granted", "person"], name="consent_lookup")]

    def __str__(self) -> str:
        state = "granted" if self.granted else "withdrawn"
        return f"{self.person_id} {self.channel} {state}"


class EventKind(models.TextChoices):
    CREATED = "created", _("Création")
    IMPORTED = "imported", _("Import")
    EDITED = "edited", _("Modification")
    TAGGED = "tagged", _("Étiquette ajoutée")
    UNTAGGED = "untagged", _("Étiquette retirée")
    CONSENT = "consent", _("Consentement")
    EXPORTED = "exported", _("Export")
    EMAILED = "emailed", _("E-mail envoyé")
    DOOR_KNOCKED = "door_knocked", _("Porte-à-porte")
    DONATED = "donated", _("Don")
    NOTE = "note", _("Note")


class TimelineEvent(models.Model):
    """Something that happened to a person. Append-only: events are never edited."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["person", "-at"], name="timeline_person_at")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Timeline events are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class SuppressionQuerySet(models.QuerySet["Suppression"]):
    def contains_email(self, address: str) -> bool:
        return bool(address) and self.filter(digest=suppression_digest("email", address)).exists()

    def contains_phone(self, number: str) -> bool:
        return bool(number) and self.filter(digest=suppression_digest("phone", number)).exists()


def suppression_digest(kind: str, value: str) -> str:
    """Keyed hash (HMAC-SHA256) of a normalised e-mail or E.164 phone.

    Only the hash is kept after erasure: it can say "this address was erased" when the same
    address comes back, but cannot be turned back into the address.
    """
    normalised = value.strip().lower()
    key = settings.CAMPAGNE_SUPPRESSION_KEY.encode()
    return hmac.new(key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


class Suppression(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Téléphone")

    class Reason(models.TextChoices):
        ERASURE = "erasure", _("Effacement RGPD")
        PURGE = "purge", _("Durée de conservation")
        BOUNCE = "bounce", _("Adresse invalide")
        COMPLAINT = "complaint", _("Plainte")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    digest = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        verbose_name = _("liste d'opposition")

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]}…"
