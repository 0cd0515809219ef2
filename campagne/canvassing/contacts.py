"""A person met at the door who agrees to be contacted again becomes a person of the CRM.

The same duplicate rules as the import (``campagne.imports.matching``): an exact match on
the normalised e-mail (primary or other) or E.164 phone (primary or other) updates that
person, unless the first names disagree (a couple sharing an address or a landline), in
which case a new person is created beside it and the pair goes to the duplicates' review
queue. An update only fills empty fields. The consent given at the door is recorded for
each channel given (e-mail, phone) with its proof: the text read, who recorded it, when,
and the record's uuid. A fresh consent given in person is the newest word of the person,
so it is recorded even over an earlier withdrawal. Nobody on the suppression list (erased
at their request) is created again.

The volunteer may not read or write people (their scope says so): these writes are the
system's, made on their behalf, and the timeline names them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from campagne.accounts.scopes import scope_for
from campagne.canvassing.models import Canvass, FieldCampaign
from campagne.elections.models import Address
from campagne.imports.actions import system_user
from campagne.imports.matching import first_names_compatible, shared_contact_score
from campagne.imports.models import DuplicateCandidate
from campagne.lib.text import search_key
from campagne.people import actions as people
from campagne.people import validation
from campagne.people.models import (
    Channel,
    EventKind,
    Person,
    PersonEmail,
    PersonPhone,
    Suppression,
)
from campagne.territory.models import Commune

if TYPE_CHECKING:
    from campagne.canvassing.recording import DoorRecord


def _clean(value: str, cleaner: Any) -> str:
    try:
        return cleaner(value or "")
    except ValidationError:
        return ""


def exact_matches(email: str, phone: str) -> list[Person]:
    """People with this normalised e-mail or E.164 phone, primary or other, oldest first."""
    ids: set[int] = set()
    if email:
        ids.update(Person.objects.filter(email=email).values_list("id", flat=True))
        ids.update(PersonEmail.objects.filter(address=email).values_list("person_id", flat=True))
    if phone:
        ids.update(Person.objects.filter(phone=phone).values_list("id", flat=True))
        ids.update(PersonPhone.objects.filter(number=phone).values_list("person_id", flat=True))
    return list(Person.objects.filter(pk__in=ids).order_by("id"))


def origin_for(campaign: FieldCampaign) -> str:
    return _("porte-à-porte %(campaign)s") % {"campaign": campaign.name}


def _address_fields(address_id: int | None, commune_id: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    address = Address.objects.filter(pk=address_id).first() if address_id else None
    if address is not None:
        line = " ".join(
            part for part in (str(address.number or ""), address.suffix, address.street) if part
        )
        fields.update(address_line=line[:200], postal_code=address.postal_code)
        commune_id = address.commune_id or commune_id
    if commune_id:
        fields["commune"] = Commune.objects.filter(pk=commune_id).first()
    return fields


def save_contact(
    *,
    volunteer: Any,
    campaign_id: int,
    canvass_id: int | None,
    record: DoorRecord,
    commune_id: str | None,
) -> Person | None:
    """Create or update the person of a door record that carries a contact; link them."""
    contact = record.contact
    if contact is None:
        return None
    first_name = " ".join(contact.first_name.split())[:100]
    email = _clean(contact.email, validation.clean_email)
    phone = _clean(contact.phone, validation.clean_phone)
    consent_text = contact.consent_text.strip()
    if not first_name or not (email or phone) or not consent_text:
        return None
    if (email and Suppression.objects.contains_email(email)) or (
        phone and Suppression.objects.contains_phone(phone)
    ):
        return None
    campaign = FieldCampaign.objects.get(pk=campaign_id)
    origin = origin_for(campaign)
    system = scope_for(system_user())
    key = search_key(first_name)
    matches = exact_matches(email, phone)
    compatible = [p for p in matches if first_names_compatible(key, search_key(p.first_name))]
    values = {
        "first_name": first_name,
        "last_name": " ".join(contact.last_name.split())[:100],
        "email": email,
        "phone": phone,
        **_address_fields(record.address_id, commune_id),
    }
    if compatible:
        person = compatible[0]
        changes = {
            name: value for name, value in values.items() if value and not getattr(person, name)
        }
        if any(name in changes for name in ("address_line", "postal_code", "commune")) and (
            person.address_line or person.commune_id
        ):
            # The address is one block, filled only when the person has none (import rule).
            for name in ("address_line", "postal_code", "commune"):
                changes.pop(name, None)
        if changes:
            people.update_person(scope=system, person=person, **changes)
    else:
        person = people.create_person(
            scope=system, origin=origin, **{k: v for k, v in values.items() if v}
        )
        for other in matches:
            # Same e-mail or phone, another first name: maybe a household, for review.
            same_email = bool(email) and (
                other.email == email or other.other_emails.filter(address=email).exists()
            )
            shared = email if same_email else phone
            score = shared_contact_score(
                "email" if "@" in shared else "phone",
                shared,
                other.first_name,
                first_name,
                search_key(other.last_name),
                search_key(values["last_name"]),
            )
            a, b = sorted((person.pk, other.pk))
            DuplicateCandidate.objects.get_or_create(
                person_a_id=a,
                person_b_id=b,
                defaults={"score": score.value, "reasons": score.parts},
            )
    proof = _("« %(text)s » — noté par %(volunteer)s le %(at)s (porte %(uuid)s)") % {
        "text": consent_text[:1000],
        "volunteer": getattr(volunteer, "email", ""),
        "at": record.recorded_at.isoformat(),
        "uuid": record.client_uuid,
    }
    channels = ([Channel.EMAIL] if email else []) + ([Channel.PHONE] if phone else [])
    for channel in channels:
        people.set_consent(
            scope=system,
            person=person,
            channel=channel,
            granted=True,
            source=origin,
            proof=proof,
            at=record.recorded_at,
        )
    people.log_event(
        person=person,
        kind=EventKind.DOOR_KNOCKED,
        actor=volunteer,
        campaign=campaign.name,
        outcome=record.outcome,
        wants_to_volunteer=record.wants_to_volunteer,
    )
    if canvass_id is not None:
        Canvass.objects.filter(pk=canvass_id).update(person=person)
    return person
