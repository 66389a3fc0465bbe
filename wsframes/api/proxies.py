"""The proxy list, past replacements and the error-reason breakdown: transport only, dicts out.

``GET /api/v2/proxy/list/?mode=direct|backbone`` and ``GET /api/v2/proxy/list/replaced/`` are
page-numbered lists (``page``, ``page_size``, envelope ``{count, next, previous, results}``). Both
belong to the API's *proxy list* rate-limit group, 60 requests a minute (:data:`PROXY_LIST_GROUP`
in ``Config.rate_limits``; :data:`PROXY_LIST_REQUESTS_PER_MINUTE` is its documented value), not
the 240/min of the general API. A list is returned whole and exactly (every page's ``count``
agrees and the records add up to it) or :class:`~wsframes.errors.IncompleteDataError` is raised: a
list that changes while it is paged (a replacement landing mid-load) shifts page boundaries.

The proxy list's ``password`` is a secret: :func:`get_proxy_list` drops it while decoding, so
it never reaches a frame, a log line or a repr.

The error-reason breakdown (Webshare's ``type`` and ``http_status`` per code) comes from the
hourly ``/api/v2/stats/`` objects, summed over the window.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from wsframes.api.client import HttpClient
from wsframes.api.stats import get_hourly_stats
from wsframes.errors import ConfigurationError, IncompleteDataError

__all__ = [
    "PROXY_LIST_GROUP",
    "PROXY_LIST_MODES",
    "PROXY_LIST_PATH",
    "PROXY_LIST_REQUESTS_PER_MINUTE",
    "REPLACED_PATH",
    "error_reasons_from_hours",
    "get_error_reasons",
    "get_proxy_list",
    "get_replaced_proxies",
]

PROXY_LIST_PATH = "/api/v2/proxy/list/"
REPLACED_PATH = "/api/v2/proxy/list/replaced/"
#: The documented limit of the proxy-list endpoint group (requests per minute).
PROXY_LIST_REQUESTS_PER_MINUTE = 60
#: The rate-limit group (``Config.rate_limits``) both list endpoints count against.
PROXY_LIST_GROUP = "proxy_list"
PROXY_LIST_MODES = ("direct", "backbone")
#: Fields of a proxy record that are secrets and are dropped on arrival.
_SECRET_FIELDS = frozenset({"password"})
MAX_LIST_PAGE_SIZE = 1000


def _page_decoder(drop: frozenset[str]) -> Callable[[bytes], tuple[int, list[dict[str, Any]], bool]]:
    """A decoder for one list page: ``(count, records without *drop* fields, has_next)``."""

    def decode(body: bytes) -> tuple[int, list[dict[str, Any]], bool]:
        data = json.loads(body)  # a ValueError (cut body) is retried by HttpClient
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise ValueError("a list page must be an object with a 'results' array")
        count = data.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError("a list page must carry a non-negative integer 'count'")
        rows = data["results"]
        if not all(isinstance(row, dict) for row in rows):
            raise ValueError("list results must be objects")
        kept = [{k: v for k, v in row.items() if k not in drop} for row in rows]
        return count, kept, data.get("next") is not None

    return decode


def _check_page_size(page_size: int) -> None:
    if type(page_size) is not int or not 0 < page_size <= MAX_LIST_PAGE_SIZE:
        raise ConfigurationError(f"page_size must be an int in 1..{MAX_LIST_PAGE_SIZE}, got {page_size!r}.")


def _paged(http: HttpClient, path: str, params: dict[str, str | int], *, page_size: int,
           drop: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every record of a page-numbered list, exactly once, or IncompleteDataError."""
    decode = _page_decoder(drop)
    records: list[dict[str, Any]] = []
    expected: int | None = None
    page = 1
    while True:
        count, rows, has_next = http.get(path, {**params, "page": page, "page_size": page_size},
                                         decode=decode, group=PROXY_LIST_GROUP)
        if expected is None:
            expected = count
        elif count != expected:
            raise IncompleteDataError(
                f"{path} changed while it was paged (count {expected} -> {count}); nothing was "
                "returned. Load it again (a replacement may have been landing)."
            )
        records.extend(rows)
        if not has_next or not rows:
            break
        page += 1
    if len(records) != expected:
        raise IncompleteDataError(
            f"{path} announced {expected} records but its pages held {len(records)}; nothing "
            "was returned. Load it again."
        )
    return records


def get_proxy_list(http: HttpClient, *, mode: str, plan_id: int | None = None,
                   page_size: int = 100) -> list[dict[str, Any]]:
    """Every proxy of the list in *mode* (``"direct"`` or ``"backbone"``), passwords removed."""
    if mode not in PROXY_LIST_MODES:
        raise ConfigurationError(f"mode must be 'direct' or 'backbone' (the API requires one), got {mode!r}.")
    _check_page_size(page_size)
    params: dict[str, str | int] = {"mode": mode}
    if plan_id is not None:
        params["plan_id"] = plan_id
    return _paged(http, PROXY_LIST_PATH, params, page_size=page_size, drop=_SECRET_FIELDS)


def get_replaced_proxies(http: HttpClient, *, plan_id: int | None = None,
                         page_size: int = 100) -> list[dict[str, Any]]:
    """Every past replacement (old address, its successor, both countries, when)."""
    _check_page_size(page_size)
    params: dict[str, str | int] = {} if plan_id is None else {"plan_id": plan_id}
    return _paged(http, REPLACED_PATH, params, page_size=page_size)


def error_reasons_from_hours(hours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sum the hourly ``error_reasons`` per code (projected hours skipped), most frequent first."""
    merged: dict[str, dict[str, Any]] = {}
    for hour in hours:
        if hour.get("is_projected"):
            continue
        for entry in hour.get("error_reasons") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("reason"), str):
                raise IncompleteDataError("an hourly stats error_reasons entry has no 'reason'.")
            row = merged.setdefault(entry["reason"], {
                "reason": entry["reason"], "type": entry.get("type"),
                "http_status": entry.get("http_status"), "how_to_fix": entry.get("how_to_fix"),
                "count": 0,
            })
            row["count"] += int(entry.get("count") or 0)
    return sorted(merged.values(), key=lambda r: (-r["count"], r["reason"]))


def get_error_reasons(http: HttpClient, lo_us: int, hi_us: int, *, plan_id: int | None = None
                      ) -> list[dict[str, Any]]:
    """Webshare's ``type``/``http_status`` and count per error code between *lo_us* and *hi_us*."""
    return error_reasons_from_hours(get_hourly_stats(http, lo_us, hi_us, plan_id=plan_id))
