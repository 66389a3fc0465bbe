"""Load the proxy pool as typed frames: the list, past replacements, Webshare's error reasons.

>>> import wsframes as wsf
>>> with wsf.FakeWebshare("k", records=500) as fake:
...     proxies = load_proxies(api_key="k", base_url=fake.base_url)
...     replaced = load_replaced_proxies(api_key="k", base_url=fake.base_url)
>>> proxies.height, "password" in proxies.columns, replaced["proxy"].to_list()
(40, False, ['198.19.1.31'])

Every loader checks its arguments before the first request, returns the whole list exactly
(or raises :class:`~wsframes.errors.IncompleteDataError`), and an empty list is an empty frame
with the full schema. The proxy list's ``password`` is dropped as the JSON is decoded: it never
reaches a frame, a log line or an exception. Every loader takes ``config=`` (a
:class:`~wsframes.Config`) and keyword overrides of its fields, as :func:`wsframes.load_activity`
does; the list endpoints count against the ``proxy_list`` rate-limit group (60 requests a minute)
rather than the general 240. With ``Config(subuser=...)`` the lists are that sub-user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Unpack

import polars as pl

from wsframes._config import Config, ConfigOverrides, configure
from wsframes._validate import check_plan_id
from wsframes.api.activity import to_micros
from wsframes.api.client import HttpClient
from wsframes.api.proxies import (
    MAX_LIST_PAGE_SIZE,
    get_error_reasons,
    get_proxy_list,
    get_replaced_proxies,
)
from wsframes.errors import ConfigurationError
from wsframes.frames import TIMESTAMP_FORMAT
from wsframes.schema import ERROR_REASON_SCHEMA, PROXY_SCHEMA, REPLACED_PROXY_SCHEMA
from wsframes.timeutil import TimeLike, clamp_to_retention, resolve_window, utc_now

__all__ = [
    "error_reasons_frame",
    "load_error_reasons",
    "load_proxies",
    "load_replaced_proxies",
    "proxies_frame",
    "replaced_frame",
]

def _http(config: Config | None, settings: ConfigOverrides) -> tuple[HttpClient, int]:
    """The pool loaders' HTTP client and list page size: the same :class:`~wsframes.Config` as every load.

    The list endpoints pick their rate-limit group per request (``proxy_list``, 60 a minute, in
    ``Config.rate_limits``); the stats behind :func:`load_error_reasons` use the general limit.
    ``Config.page_size`` is capped at the lists' maximum page (1,000).
    """
    cfg = configure(config, settings)
    return HttpClient(cfg), min(cfg.page_size, MAX_LIST_PAGE_SIZE)


def _frame(records: Sequence[dict[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    """Records -> a frame of exactly *schema*: unknown fields ignored, missing ones null.

    Timestamps arrive as ISO-8601 text with an offset and are normalised to UTC; a value that
    does not fit its declared type raises ``ConfigurationError``-free ``ValueError`` from Polars'
    strict casts (never a silent guess).
    """
    if not records:
        return pl.DataFrame(schema=schema)
    ts_cols = [n for n, t in schema.items() if isinstance(t, pl.Datetime)]
    raw = {n: [r.get(n) for r in records] for n in schema}
    frame = pl.DataFrame(
        {n: pl.Series(n, raw[n], dtype=pl.String if n in ts_cols else None, strict=False) for n in schema}
    )
    try:
        return frame.with_columns(
            pl.col(n).str.to_datetime(TIMESTAMP_FORMAT, time_zone="UTC", time_unit="us") if n in ts_cols
            else pl.col(n).cast(t, strict=True)
            for n, t in schema.items()
        )
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise ValueError(f"a record does not fit its declared types: {exc}".splitlines()[0]) from None


def proxies_frame(records: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Proxy-list records -> a frame of :data:`~wsframes.schema.PROXY_SCHEMA` (never a password)."""
    return _frame(records, PROXY_SCHEMA)


def replaced_frame(records: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Replaced-proxy records -> a frame of :data:`~wsframes.schema.REPLACED_PROXY_SCHEMA`."""
    return _frame(records, REPLACED_PROXY_SCHEMA)


def error_reasons_frame(records: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Error-reason entries -> a frame of :data:`~wsframes.schema.ERROR_REASON_SCHEMA`."""
    return _frame(records, ERROR_REASON_SCHEMA)


def load_proxies(
    mode: str = "direct",
    *,
    config: Config | None = None,
    plan_id: int | None = None,
    **settings: Unpack[ConfigOverrides],
) -> pl.DataFrame:
    """The plan's current proxy list (``/api/v2/proxy/list/``) as a typed frame.

    Parameters
    ----------
    mode : {"direct", "backbone"}
        Required by the API; residential plans list their proxies in ``"backbone"`` mode (and
        have no ``proxy_address``).
    config : Config, optional
        As for :func:`wsframes.load_activity`; ``**settings`` override its fields (``api_key``,
        ``base_url``, ``requests_per_minute=None`` against a local server, ``subuser``,
        ``page_size``: proxies per request, at most 1,000...).
    plan_id : int, optional
        The plan to read; default: the account's default plan.

    Returns
    -------
    polars.DataFrame
        One row per proxy, :data:`~wsframes.schema.PROXY_SCHEMA` (no password column).
    """
    check_plan_id(plan_id)
    http, page_size = _http(config, settings)
    try:
        return proxies_frame(get_proxy_list(http, mode=mode, plan_id=plan_id, page_size=page_size))
    finally:
        http.close()


def load_replaced_proxies(
    *,
    config: Config | None = None,
    plan_id: int | None = None,
    **settings: Unpack[ConfigOverrides],
) -> pl.DataFrame:
    """Past replacements (``/api/v2/proxy/list/replaced/``): ``proxy`` left the pool at ``created_at``.

    Parameters are those of :func:`load_proxies`. The result has
    :data:`~wsframes.schema.REPLACED_PROXY_SCHEMA`; pass it to :func:`wsframes.enrich` so rows
    that used a since-replaced address get ``proxy_replaced_at`` and the old address's country.
    """
    check_plan_id(plan_id)
    http, page_size = _http(config, settings)
    try:
        return replaced_frame(get_replaced_proxies(http, plan_id=plan_id, page_size=page_size))
    finally:
        http.close()


def load_error_reasons(
    start: TimeLike = "7d",
    end: TimeLike | None = None,
    *,
    config: Config | None = None,
    plan_id: int | None = None,
    **settings: Unpack[ConfigOverrides],
) -> pl.DataFrame:
    """Webshare's own classification of the error codes seen in ``[start, end)``.

    Activity rows carry ``error_reason`` but not its ``type`` (``configuration`` or
    ``connection``) or ``http_status``; ``/api/v2/stats/`` does. Columns:
    :data:`~wsframes.schema.ERROR_REASON_SCHEMA`, most frequent code first.
    """
    check_plan_id(plan_id)
    now = utc_now()
    lo_dt, hi_dt = resolve_window(start, end, now=now)
    lo_dt = clamp_to_retention(lo_dt, now=now)  # the API's 90-day floor, as for activity
    if lo_dt >= hi_dt:
        raise ConfigurationError(f"the window ends ({hi_dt.isoformat()}) before the API's 90-day floor.")
    lo, hi = to_micros(lo_dt), to_micros(hi_dt) - 1  # the API's bounds are inclusive
    http, _ = _http(config, settings)
    try:
        return error_reasons_frame(get_error_reasons(http, lo, hi, plan_id=plan_id))
    finally:
        http.close()
