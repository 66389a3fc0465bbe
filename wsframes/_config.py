"""One frozen settings object for every entry point: :class:`Config`.

``Client``, ``load_activity``, ``sync``, ``build_report`` and the CLI all take a ``config=`` and
build their HTTP stack from it, so a setting cannot be dropped on one path. Keyword overrides
(``Client(page_size=500)``) are applied with :meth:`Config.replace`, which validates again. The
origin is checked here too (:func:`resolve_base_url`), so :mod:`wsframes.api` builds on this
module and never the other way round.

>>> cfg = Config(api_key="sk-secret", connections=4)
>>> "sk-secret" in repr(cfg)
False
>>> cfg.replace(page_size=500).page_size
500
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

from wsframes._validate import check_int, check_progress, check_seconds
from wsframes.errors import ConfigurationError

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_RATE_LIMITS", "MAX_PAGE_SIZE", "Config", "ConfigOverrides",
           "configure", "resolve_base_url"]

MAX_PAGE_SIZE = 100_000
DEFAULT_BASE_URL = "https://proxy.webshare.io"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
log = logging.getLogger("wsframes.api")

#: Documented per-minute limits of the endpoint groups other than the general API (see
#: ``Config.rate_limits``); the general API's 240 is ``Config.requests_per_minute``.
DEFAULT_RATE_LIMITS: Mapping[str, int] = MappingProxyType({"proxy_list": 60, "download_links": 30})

@dataclass(frozen=True, slots=True)
class Config:
    """Where and how wsframes talks to the Webshare API (immutable; validated on construction).

    Parameters
    ----------
    api_key : str, optional
        ``None``: ``WEBSHARE_API_KEY`` when a client is made. Never shown in a repr.
    base_url : str, optional
        ``None``: ``WEBSHARE_BASE_URL``, else ``https://proxy.webshare.io``.
    timeout : float
        Seconds to connect and between received bytes (default 30).
    max_retries : int
        Retries of one request (429, 5xx, timeouts, cut or invalid bodies).
    backoff, max_backoff, max_retry_after : float
        Base and cap of the jittered exponential backoff; cap on an honoured ``Retry-After``.
    requests_per_minute : int or None
        Requests to the general API in any sliding 60 s window (documented: 240). ``None`` turns
        every limit off (local servers only).
    rate_limits : mapping of str to int
        Per-minute limits of other endpoint groups (default ``proxy_list`` 60, ``download_links`` 30).
    connections : int
        Keep-alive connections, and time slices fetched at once; 1 loads sequentially.
    page_size : int
        Records asked per activity page (a server returning fewer stays exact).
    progress : bool or None
        Progress bars: ``None`` shows them in terminals and notebooks only.
    subuser : int, optional
        A sub-user's id: every request carries ``X-Subuser: <id>`` and reads that sub-user's
        view. Activity is checked to honour it (see :meth:`wsframes.Client.activity`).
    """

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    timeout: float = 30.0
    max_retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0
    requests_per_minute: int | None = 240
    rate_limits: Mapping[str, int] = field(default_factory=lambda: DEFAULT_RATE_LIMITS, hash=False)
    connections: int = 8
    page_size: int = 1000
    progress: bool | None = None
    subuser: int | None = None

    def __post_init__(self) -> None:
        if self.api_key is not None and not isinstance(self.api_key, str):
            raise ConfigurationError("api_key must be a string (or None for WEBSHARE_API_KEY).")
        if self.base_url is not None:
            object.__setattr__(self, "base_url", resolve_base_url(self.base_url))
        check_seconds("timeout", self.timeout, zero_ok=False)
        for name in ("backoff", "max_backoff", "max_retry_after"):
            check_seconds(name, getattr(self, name))
        check_int("max_retries", self.max_retries, low=0)
        check_int("connections", self.connections, low=1, high=64)
        check_int("page_size", self.page_size, low=1, high=MAX_PAGE_SIZE)
        if self.requests_per_minute is not None:
            check_int("requests_per_minute", self.requests_per_minute, low=1,
                      hint=" or None (no limit, for local servers)")
        if not isinstance(self.rate_limits, Mapping):
            raise ConfigurationError("rate_limits must map endpoint group names to per-minute limits.")
        for group, limit in self.rate_limits.items():
            check_int(f"rate_limits[{group!r}]", limit, low=1)
        object.__setattr__(self, "rate_limits", MappingProxyType(dict(self.rate_limits)))
        check_progress(self.progress)
        if self.subuser is not None:
            check_int("subuser", self.subuser, low=1, hint=" (a sub-user id from the dashboard) or None")

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        """Settings from ``WEBSHARE_API_KEY`` and ``WEBSHARE_BASE_URL``, then *overrides*."""
        env: dict[str, Any] = {}
        if os.environ.get("WEBSHARE_API_KEY"):
            env["api_key"] = os.environ["WEBSHARE_API_KEY"]
        if os.environ.get("WEBSHARE_BASE_URL"):
            env["base_url"] = os.environ["WEBSHARE_BASE_URL"]
        return cls(**{**env, **overrides})

    def replace(self, **overrides: Any) -> Config:
        """A copy with *overrides* applied (``None`` values are kept: they mean something here)."""
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigurationError(
                f"unknown setting(s) {', '.join(unknown)}; Config takes "
                f"{', '.join(f.name for f in dataclasses.fields(self))}."
            )
        return dataclasses.replace(self, **overrides) if overrides else self

    def public(self) -> dict[str, Any]:
        """Every setting but the key, as plain values (what a report kernel rebuilds its client from)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "api_key"}
        return {**fields, "rate_limits": dict(self.rate_limits)}


class ConfigOverrides(TypedDict, total=False):
    """Keyword overrides of :class:`Config`'s fields, accepted by every networked entry point.

    ``load_activity("7d", requests_per_minute=None)`` is ``load_activity("7d",
    config=Config().replace(requests_per_minute=None))``; the fields are documented on Config.
    """

    api_key: str | None
    base_url: str | None
    timeout: float
    max_retries: int
    backoff: float
    max_backoff: float
    max_retry_after: float
    requests_per_minute: int | None
    rate_limits: Mapping[str, int]
    connections: int
    page_size: int
    progress: bool | None
    subuser: int | None


def configure(config: Config | None, overrides: Mapping[str, Any]) -> Config:
    """*config* (default ``Config()``) with *overrides* applied: how every entry point gets its settings."""
    if config is not None and not isinstance(config, Config):
        raise ConfigurationError(f"config must be a wsframes.Config, got {type(config).__name__}.")
    return (config or Config()).replace(**overrides)


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
