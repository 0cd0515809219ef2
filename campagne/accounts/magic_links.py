"""Single-use, short-lived login links sent by e-mail (for volunteers without a password).

The signed value binds the user id to a hash of their last login: once the link has been
used, ``last_login`` changes and every earlier link stops working.
"""

import hashlib

from django.conf import settings
from django.core import signing

from campagne.accounts.models import User

_SALT = "campagne.accounts.magic-link"


def _login_fingerprint(user: User) -> str:
    stamp = user.last_login.isoformat() if user.last_login else "never"
    return hashlib.sha256(f"{user.pk}:{stamp}:{user.password}".encode()).hexdigest()[:20]


def make_token(user: User) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object(
        {"u": user.pk, "f": _login_fingerprint(user)}
    )


def user_for_token(token: str) -> User | None:
    """The user a valid, unexpired, unused token belongs to; None otherwise."""
    try:
        data = signing.TimestampSigner(salt=_SALT).unsign_object(
            token, max_age=settings.MAGIC_LINK_MAX_AGE
        )
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or data.get("f") != _login_fingerprint(user):
        return None
    return user
