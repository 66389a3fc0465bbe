"""Which key requests carry, and secret redaction (the origin is checked by :class:`wsframes.Config`).

The API key comes from ``api_key=`` or ``WEBSHARE_API_KEY``. Download tokens travel in query
strings, so every URL that is logged or put into a message goes through :func:`redact_url` first
(and urllib3's own DEBUG lines are filtered the same way).

>>> redact_url("https://proxy.webshare.io/api/v2/proxy/activity/download/?download_token=s3cr3t&plan_id=1")
'https://proxy.webshare.io/api/v2/proxy/activity/download/?download_token=%2A%2A%2A&plan_id=1'
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from wsframes.errors import ConfigurationError

__all__ = ["guard_third_party_logs", "redact_url", "resolve_api_key"]

_SECRET_PARAMS = frozenset({"download_token", "token", "key", "api_key"})

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
