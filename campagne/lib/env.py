"""Typed readers for settings from environment variables.

Each helper fails loudly (ImproperlyConfigured) on a value it cannot read, so that a
typo in a deployment's environment stops the start-up instead of running half-configured.
"""

import os
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

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


def env_rates(name: str, default: str = "") -> dict[str, float]:
    """``"orange.fr=50,free.fr=30"`` → ``{"orange.fr": 50.0, "free.fr": 30.0}`` (per second)."""
    raw = os.environ.get(name, default)
    rates: dict[str, float] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not key.strip() or rate <= 0:
            raise ImproperlyConfigured(
                f"{name}: {item.strip()!r} is not domain=rate (a positive number per second)."
            )
        rates[key.strip().lower()] = rate
    return rates


def parse_email_url(url: str) -> dict[str, object]:
    """Turn EMAIL_URL into Django e-mail settings.

    Schemes: ``smtp://user:pass@host:port?tls=1`` (STARTTLS), ``smtps://…`` (implicit TLS),
    ``console://`` (print messages), ``locmem://`` (tests), ``file:///path``, and the
    e-mail services of django-anymail (see ``_ESP_SCHEMES``), which also give ``ANYMAIL``.
    """
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme in _ESP_SCHEMES:
        return _parse_esp_url(parts, query)
    backends = {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    }
    if parts.scheme not in backends:
        schemes = ", ".join(sorted([*backends, *_ESP_SCHEMES]))
        raise ImproperlyConfigured(f"EMAIL_URL scheme {parts.scheme!r} is not one of {schemes}.")
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


# E-mail services (django-anymail backends), by EMAIL_URL scheme.
_ESP_SCHEMES = {
    "brevo": "anymail.backends.brevo.EmailBackend",  # brevo://API_KEY
    "mailjet": "anymail.backends.mailjet.EmailBackend",  # mailjet://API_KEY:SECRET_KEY
    "ses": "anymail.backends.amazon_ses.EmailBackend",  # ses://[KEY_ID:SECRET@]REGION
    "postmark": "anymail.backends.postmark.EmailBackend",  # postmark://SERVER_TOKEN
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",  # sendgrid://API_KEY
    "mailgun": "anymail.backends.mailgun.EmailBackend",  # mailgun://API_KEY@DOMAIN?region=eu
    # anymail's own test transport: records messages in django.core.mail.outbox.
    "anymail-test": "anymail.backends.test.EmailBackend",
}


def _parse_esp_url(parts: SplitResult, query: dict[str, str]) -> dict[str, object]:
    scheme = parts.scheme
    # Keys are case-sensitive: read them from the raw netloc, not the lower-cased hostname.
    credentials, at, host = parts.netloc.rpartition("@")
    if not at:  # mailjet://KEY:SECRET: no host, the credentials are the whole netloc
        credentials = parts.netloc if scheme == "mailjet" else ""
    user, _sep, password = (unquote(part) for part in credentials.partition(":"))
    whole = unquote(parts.netloc)

    def need(value: str, what: str) -> str:
        if not value:
            raise ImproperlyConfigured(f"EMAIL_URL {scheme}:// needs {what}.")
        return value

    anymail: dict[str, object] = {}
    if scheme == "brevo":
        anymail["BREVO_API_KEY"] = need(whole, "the API key (brevo://KEY)")
    elif scheme == "postmark":
        anymail["POSTMARK_SERVER_TOKEN"] = need(whole, "the server token (postmark://TOKEN)")
    elif scheme == "sendgrid":
        anymail["SENDGRID_API_KEY"] = need(whole, "the API key (sendgrid://KEY)")
    elif scheme == "mailjet":
        anymail["MAILJET_API_KEY"] = need(user, "the API key (mailjet://KEY:SECRET)")
        anymail["MAILJET_SECRET_KEY"] = need(password, "the secret key (mailjet://KEY:SECRET)")
    elif scheme == "mailgun":
        anymail["MAILGUN_API_KEY"] = need(user, "the API key (mailgun://KEY@domain)")
        anymail["MAILGUN_SENDER_DOMAIN"] = need(host.lower(), "the domain (mailgun://KEY@domain)")
        if query.get("region", "").lower() == "eu":
            anymail["MAILGUN_API_URL"] = "https://api.eu.mailgun.net/v3"
    elif scheme == "ses":
        # Without credentials boto3 finds them itself (instance role, AWS_* variables).
        params: dict[str, str] = {}
        if host:
            params["region_name"] = host.lower()
        if user:
            params.update(aws_access_key_id=user, aws_secret_access_key=password)
        if params:
            anymail["AMAZON_SES_CLIENT_PARAMS"] = params
    return {"EMAIL_BACKEND": _ESP_SCHEMES[scheme], "ANYMAIL": anymail}
