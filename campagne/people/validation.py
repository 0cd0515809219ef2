"""The rules a person's values obey, shared by the form, the API and the actions.

Each helper returns the normalised value or raises ``ValidationError`` with the message
the user sees, so that the pages and the API answer with the same words.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from campagne.lib.phones import to_e164

IDENTIFIERS = ("first_name", "last_name", "email", "phone")


def clean_email(value: str, *, on_file: str = "") -> str:
    """A valid, lower-cased address; one already on file is kept as it is.

    Keeping it lets people edit another field of a record imported before this check.
    """
    value = value.strip()
    if not value:
        return ""
    if value.lower() == on_file.lower():
        return value.lower()
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError(_("Cette adresse e-mail n'est pas valide."), code="invalid") from None


def clean_phone(value: str, *, on_file: str = "") -> str:
    """E.164; a number already on file is kept as it is."""
    value = value.strip()
    if not value or value == on_file:
        return value
    number = to_e164(value)
    if number is None:
        raise ValidationError(_("Ce numéro de téléphone n'est pas valide."), code="invalid")
    return number


def check_birth_year(year: int | None) -> int | None:
    if year is not None and year > timezone.localdate().year:
        raise ValidationError(_("Cette année n'est pas encore arrivée."), code="max_value")
    return year


def require_identifier(values: dict[str, Any]) -> None:
    """A new person needs a name, a first name, an e-mail or a phone."""
    if not any(values.get(name) for name in IDENTIFIERS):
        raise ValidationError(
            _("Indiquez au moins un nom, un prénom, un e-mail ou un téléphone."), code="empty"
        )
