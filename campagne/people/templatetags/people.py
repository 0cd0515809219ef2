"""Template filters of the people pages."""

from django import template

from campagne.lib import phones

register = template.Library()


@register.filter
def phone(e164: str) -> str:
    """An E.164 number as people write it: "06 12 34 56 78" for French numbers."""
    return phones.display(e164 or "")
