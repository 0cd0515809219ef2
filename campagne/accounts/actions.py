"""Account actions: magic links and API tokens."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campagne.accounts import magic_links
from campagne.accounts.models import ApiToken, User
from campagne.mailing import transactional


def _login_url(user: User) -> str:
    return settings.CAMPAGNE_BASE_URL + reverse(
        "accounts:magic_login", kwargs={"token": magic_links.make_token(user)}
    )


def send_welcome(*, user: User) -> None:
    """Tell a new team member their account exists, with a first login link."""
    transactional.send(
        template=transactional.WELCOME,
        to=user.email,
        values={
            "prenom": user.first_name,
            "lien": _login_url(user),
            "minutes": settings.MAGIC_LINK_MAX_AGE // 60,
        },
    )


def send_magic_link(*, email: str) -> bool:
    """E-mail a login link to ``email`` if it belongs to an active account.

    Returns whether a message was sent; callers must not tell the visitor, so that the
    form does not reveal which addresses have accounts.
    """
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return False
    transactional.send(
        template=transactional.MAGIC_LINK,
        to=user.email,
        values={
            "prenom": user.first_name,
            "lien": _login_url(user),
            "minutes": settings.MAGIC_LINK_MAX_AGE // 60,
        },
    )
    return True


def create_api_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    return ApiToken.issue(user=user, name=name.strip() or _("Jeton"))


def revoke_api_token(*, user: User, token_id: int) -> bool:
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return bool(updated)
