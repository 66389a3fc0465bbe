"""One frozen settings object for every entry point: :class:`Config`.

``Client``, ``load_activity``, ``sync``, ``build_report`` and the CLI all take a ``config=`` and
build their HTTP stack from it, so a setting cannot be dropped on one path. Keyword overrides
(``Client(page_size=500)``) are applied with :meth:`Config.replace`, which validates again.

>>> cfg = Config(api_key="sk-secret", connections=4)
>>> "sk-secret" in repr(cfg)
False
>>> cfg.replace(page_size=500).page_size
500
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from wsframes._validate import check_int, check_progress, check_seconds
from wsframes.errors import ConfigurationError

__all__ = ["DEFAULT_RATE_LIMITS", "MAX_PAGE_SIZE", "Config"]

MAX_PAGE_SIZE = 100_000

#: Documented per-minute limits of the endpoint groups other than the general API (see
#: ``Config.rate_limits``); the general API's 240 is ``Config.requests_per_minute``.
DEFAULT_RATE_LIMITS: Mapping[str, int] = MappingProxyType({"proxy_list": 60, "download_links": 30})

#: Settings a report kernel may receive as plain notebook parameters (never the key).
KERNEL_OPTIONS = ("page_size", "requests_per_minute", "timeout", "max_retries", "connections", "subuser")


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
            from wsframes.api.config import resolve_base_url  # checks and normalises the origin

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

    def kernel_options(self) -> dict[str, Any]:
        """The plain, non-secret settings a report kernel rebuilds its client from."""
        return {name: getattr(self, name) for name in KERNEL_OPTIONS}
