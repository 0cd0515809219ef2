from typing import Any

from django.conf import settings
from django.http import HttpRequest


def campagne(request: HttpRequest) -> dict[str, Any]:
    from campagne.accounts.scopes import scope_for

    return {
        "campagne_demo": settings.CAMPAGNE_DEMO,
        "scope": scope_for(getattr(request, "user", None)),
    }
