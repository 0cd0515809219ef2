"""Accounts: who logs in, with which role, over which territories."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campagne.territory.models import Commune, Departement, Region


class Role(models.TextChoices):
    HQ_ADMIN = "hq_admin", _("Administrateur QG")
    HQ_STAFF = "hq_staff", _("Équipe QG")
    ORGANIZER = "organizer", _("Organisateur territorial")
    VOLUNTEER = "volunteer", _("Bénévole")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        if not email:
            raise ValueError("An account needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("role", Role.HQ_ADMIN)
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractUser):
    """A campaign account, identified by its e-mail address.

    Organizers reach the people of their territories: any mix of régions, départements and
    communes. What each role may do is decided in ``campagne.accounts.scopes`` only.
    """

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("adresse e-mail"), unique=True)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.VOLUNTEER)
    regions = models.ManyToManyField(
        Region, blank=True, related_name="+", verbose_name=_("régions")
    )
    departements = models.ManyToManyField(
        Departement, blank=True, related_name="+", verbose_name=_("départements")
    )
    communes = models.ManyToManyField(
        Commune, blank=True, related_name="+", verbose_name=_("communes")
    )
    language = models.CharField(_("langue"), max_length=5, default="fr")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("compte")

    def __str__(self) -> str:
        return self.get_full_name() or self.email


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the user sees it once."""

    PREFIX = "cpg_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nom"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("jeton d'API")

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, *, user: User, name: str) -> tuple["ApiToken", str]:
        """Create a token and return it with its clear value (shown to the user once)."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=_hash_token(raw), hint=raw[:8])
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> User | None:
        """The active account of an active token, or None; notes when it was used."""
        now = timezone.now()
        # Plain SQL through User.objects.raw (the model's own columns and converters): it
        # runs on every API call, and building the equivalent queryset cost ~20 times
        # the query. The same conditions as ``active()``; the database says whether
        # last_used_at is due (one write a minute at most per token).
        q = connection.ops.quote_name
        user_table, token_table = q(User._meta.db_table), q(cls._meta.db_table)
        sql = (
            f"SELECT u.*, t.{q('id')} AS token_id, CASE WHEN t.{q('last_used_at')} IS NULL "  # noqa: S608 - names from the models
            f"OR t.{q('last_used_at')} < %s THEN 1 ELSE 0 END AS touch "
            f"FROM {token_table} t JOIN {user_table} u ON u.{q('id')} = t.{q('user_id')} "
            f"WHERE t.{q('key_hash')} = %s AND t.{q('revoked_at')} IS NULL "
            f"AND u.{q('is_active')}"
        )
        stale = connection.ops.adapt_datetimefield_value(now - timedelta(minutes=1))
        found = list(User.objects.raw(sql, [stale, _hash_token(raw)]))
        if not found:
            return None
        user = found[0]
        if user.touch:  # type: ignore[attr-defined]
            cls.objects.filter(pk=user.token_id).update(last_used_at=now)  # type: ignore[attr-defined]
        return user
