"""Phone numbers in E.164, French numbers first."""

import phonenumbers


def to_e164(raw: str, region: str = "FR") -> str | None:
    """``"06 12 34 56 78"`` → ``"+33612345678"``; None when it is not a valid number."""
    text = raw.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """``"+33612345678"`` → ``"06 12 34 56 78"`` for French numbers, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 33
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
