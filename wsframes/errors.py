"""The exceptions wsframes raises, all rooted at :class:`WsframesError`.

::

    WsframesError
    ├── ConfigurationError      bad input, caught before any request (also a ValueError)
    ├── APIError                the API answered with an error (status, request id, messages)
    │   ├── BadRequestError         400: the API's own field messages are in ``messages``
    │   ├── AuthenticationError     401: missing or wrong API key
    │   ├── PermissionDeniedError   403: the key or plan may not do this
    │   ├── RateLimitError          429, still after every retry
    │   └── ServerError             5xx, still after every retry
    ├── TransportError          connection failed, timed out, or a body was cut/invalid after retries
    ├── IncompleteDataError     exactness could not be guaranteed; no partial result is returned
    ├── ArchiveError            the local archive is unreadable, locked or inconsistent
    │   └── DamagedFileError        a day file failed its checksum or cannot be decoded (names it)
    └── ReportError             a report could not be built (names the failing cell)

No message, ``repr`` or attribute of these exceptions ever holds an API key or download token:
callers build messages from request metadata that :mod:`wsframes.api` has already redacted.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "ArchiveError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "DamagedFileError",
    "IncompleteDataError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReportError",
    "ServerError",
    "TransportError",
    "WsframesError",
]


class WsframesError(Exception):
    """Root of every exception wsframes raises on purpose."""


class ConfigurationError(WsframesError, ValueError):
    """An argument or setting is wrong; raised before any request is sent."""


class APIError(WsframesError):
    """The Webshare API answered with an error status.

    Attributes
    ----------
    status_code : int
        The HTTP status of the final attempt.
    request_id : str | None
        The ``X-Request-ID`` header, worth quoting to Webshare support.
    messages : list[str]
        Human-readable messages taken from the API's error body.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        messages: list[str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        self.messages = list(messages or [])
        suffix = f" (X-Request-ID: {request_id})" if request_id else ""
        super().__init__(f"{message}{suffix}")


class BadRequestError(APIError):
    """HTTP 400: the API rejected a parameter; ``messages`` holds its own words."""


class AuthenticationError(APIError):
    """HTTP 401: the API key is missing or wrong."""


class PermissionDeniedError(APIError):
    """HTTP 403: this key or plan may not do what was asked."""


class RateLimitError(APIError):
    """HTTP 429 persisted through every retry."""


class ServerError(APIError):
    """HTTP 5xx persisted through every retry."""


class TransportError(WsframesError):
    """The connection failed, timed out, or a response body was cut or invalid, after retries."""


class IncompleteDataError(WsframesError):
    """A load could not be proven complete and exact, so nothing is returned."""


class ArchiveError(WsframesError):
    """The local archive is unreadable, locked by another sync, or inconsistent."""


class DamagedFileError(ArchiveError):
    """Archive day files are damaged (checksum mismatch, undecodable, missing); nothing was read.

    ``paths`` holds every damaged file; the message names them with the command that repairs them.
    """

    def __init__(self, message: str, *, paths: list[str] | None = None) -> None:
        self.paths = list(paths or [])
        super().__init__(message)


class ReportError(WsframesError):
    """A report could not be built; the message names the failing cell and the kept notebook."""
