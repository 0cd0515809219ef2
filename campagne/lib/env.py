"""Typed readers for settings from environment variables.

Each helper fails loudly (ImproperlyConfigured) on a value it cannot read, so that a
typo in a deployment's environment stops the start-up instead of running half-configured.
"""

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_email_url(url: str) -> dict[str, object]:
    """Turn EMAIL_URL into Django e-mail settings.

    Schemes: ``smtp://user:pass@host:port?tls=1`` (STARTTLS), ``smtps://…`` (implicit TLS),
    ``console://`` (print messages), ``locmem://`` (tests), ``file:///path``.
    """
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    backends = {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    }
    if parts.scheme not in backends:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {parts.scheme!r} is not one of {', '.join(sorted(backends))}."
        )
    config: dict[str, object] = {"EMAIL_BACKEND": backends[parts.scheme]}
    if parts.scheme in {"smtp", "smtps"}:
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"EMAIL_URL has an invalid port: {url!r}") from None
        config.update(
            EMAIL_HOST=parts.hostname or "localhost",
            EMAIL_PORT=port or (465 if parts.scheme == "smtps" else 25),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_TLS=query.get("tls", "0").lower() in _TRUE,
            EMAIL_USE_SSL=parts.scheme == "smtps" or query.get("ssl", "0").lower() in _TRUE,
            EMAIL_TIMEOUT=int(query.get("timeout", "30")),
        )
    if parts.scheme == "file":
        config["EMAIL_FILE_PATH"] = parts.path
    return config
