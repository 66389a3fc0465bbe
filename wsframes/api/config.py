"""Where requests go and with which key: configuration checks and secret redaction.

The API key comes from ``api_key=`` or ``WEBSHARE_API_KEY``; the origin from ``base_url=`` or
``WEBSHARE_BASE_URL``, else the public API. Plain ``http://`` is refused except towards loopback.
Download tokens travel in query strings, so every URL that is logged or put into a message goes
through :func:`redact_url` first (and urllib3's own DEBUG lines are filtered the same way).

>>> redact_url("https://proxy.webshare.io/api/v2/proxy/activity/download/?download_token=s3cr3t&plan_id=1")
'https://proxy.webshare.io/api/v2/proxy/activity/download/?download_token=%2A%2A%2A&plan_id=1'
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from wsframes.errors import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "guard_third_party_logs",
    "redact_url",
    "resolve_api_key",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "https://proxy.webshare.io"
_SECRET_PARAMS = frozenset({"download_token", "token", "key", "api_key"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
log = logging.getLogger("wsframes.api")

def redact_url(url: str) -> str:
    """Return *url* with the values of secret query parameters (``download_token``...) masked."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


_SECRET_IN_TEXT = re.compile(r"((?:download_token|api_key)=)[^&\s\"']+", re.IGNORECASE)


class _RedactSecrets(logging.Filter):
    """Masks download tokens in records of loggers we don't own (urllib3 logs full URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_IN_TEXT.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def guard_third_party_logs() -> None:
    """Install the token filter on urllib3's connection-pool logger (idempotent)."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactSecrets) for f in logger.filters):
        logger.addFilter(_RedactSecrets())


def resolve_api_key(api_key: str | None) -> str:
    """The API key from the argument, else ``WEBSHARE_API_KEY``; raise if neither is usable."""
    key = api_key if api_key is not None else os.environ.get("WEBSHARE_API_KEY")
    if key is None or not key.strip():
        raise ConfigurationError(
            "No Webshare API key: pass api_key=... or set the WEBSHARE_API_KEY environment "
            "variable (create a key at https://dashboard.webshare.io/userapi/keys)."
        )
    if not isinstance(key, str) or any(c.isspace() for c in key.strip()) or not key.isprintable():
        # Never echo the value: it may be a real key pasted with a typo.
        raise ConfigurationError(
            "The Webshare API key is malformed (it must be one printable word without spaces); "
            "check api_key=... or WEBSHARE_API_KEY."
        )
    return key.strip()


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None) -> str:
    """The API origin from the argument, else ``WEBSHARE_BASE_URL``, else the public API.

    Plain ``http://`` is refused unless the host is loopback (the fake API, a local tunnel).

    >>> resolve_base_url("http://127.0.0.1:8765/")
    'http://127.0.0.1:8765'
    >>> resolve_base_url("https://proxy.webshare.io/api/v2/")  # logged, then dropped
    'https://proxy.webshare.io'
    """
    url = base_url if base_url is not None else os.environ.get("WEBSHARE_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a string such as {DEFAULT_BASE_URL!r}.")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base_url {url!r} is not an http(s) origin; use e.g. {DEFAULT_BASE_URL!r} or "
            "'http://127.0.0.1:8765' (set with base_url=... or WEBSHARE_BASE_URL)."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(
            f"base_url must be scheme + host[:port] only (no credentials, query or fragment), got {url!r}."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"Refusing plain http:// to {parts.hostname!r}: the API key would travel unencrypted. "
            "Use https://, or http:// only towards a loopback host (127.0.0.1, ::1, localhost)."
        )
    return urlunsplit((parts.scheme, parts.netloc, _origin_path(url, parts.path), "", ""))


_API_PREFIX = re.compile(r"^/api(?:/v\d+)?/?$")


def _origin_path(url: str, path: str) -> str:
    """The base URL is an origin: every request path starts with ``/api/v2/`` already.

    A pasted ``.../api/v2/`` is dropped with a log line (it would give 404s on
    ``/api/v2/api/v2/...``); any other path is refused rather than guessed at.
    """
    if path in ("", "/"):
        return ""
    if _API_PREFIX.match(path):
        log.warning("base_url %r: dropped the path %r (wsframes adds /api/v2/... itself); using %r",
                    url, path, url[: url.index(path)] if path in url else url)
        return ""
    raise ConfigurationError(
        f"base_url must be an origin (scheme + host[:port]) such as {DEFAULT_BASE_URL!r}, got {url!r} "
        f"with the path {path!r}; check base_url=... or WEBSHARE_BASE_URL."
    )
