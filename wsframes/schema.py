"""The one declared truth about activity data: column names, dtypes and the error-code catalogue.

Frames are built against :data:`ACTIVITY_SCHEMA`; dtypes are never inferred from the data (a
sparse nullable field would otherwise come out as the Null type).

Error codes
-----------
Webshare publishes no complete list of ``error_reason`` codes and classifies them only as
``configuration`` or ``connection``. :data:`ERROR_CATALOGUE` adds a finer ``category`` and one line
of advice per category (:data:`CATEGORY_ADVICE`). A code missing from the catalogue is kept and
labelled ``unknown`` by :func:`describe_error`; it is never dropped.

>>> describe_error("no_proxies_allocated").category
'proxy_list_outdated'
>>> describe_error("something_new").category
'unknown'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

__all__ = [
    "ACTIVITY_COLUMNS",
    "ACTIVITY_SCHEMA",
    "CATEGORY_ADVICE",
    "DURATION_COLUMNS",
    "ERROR_CATALOGUE",
    "ErrorCode",
    "describe_error",
    "empty_activity",
]

#: Column names and dtypes of an activity frame, in the API's field order.
ACTIVITY_SCHEMA: Final = pl.Schema(
    {
        "timestamp": pl.Datetime("us", "UTC"),
        "protocol": pl.Categorical(),
        "request_duration": pl.Float64(),
        "handshake_duration": pl.Float64(),
        "tunnel_duration": pl.Float64(),
        "error_reason": pl.Categorical(),
        "error_reason_how_to_fix": pl.Categorical(),
        "auth_username": pl.String(),
        "proxy_address": pl.Categorical(),
        "bytes": pl.Int64(),
        "client_address": pl.Categorical(),
        "ip_address": pl.String(),
        "hostname": pl.String(),
        "domain": pl.Categorical(),
        "port": pl.Int32(),
        "proxy_port": pl.Int32(),
        "listen_address": pl.Categorical(),
        "listen_port": pl.Int32(),
    }
)

#: The activity's durations (seconds), in the order of a request's phases, then the whole request.
DURATION_COLUMNS: Final = ("handshake_duration", "tunnel_duration", "request_duration")

#: The 18 API field names, in order.
ACTIVITY_COLUMNS: Final = tuple(ACTIVITY_SCHEMA.names())


def empty_activity() -> pl.DataFrame:
    """An activity frame with no rows and the full schema (never ``None``)."""
    return pl.DataFrame(schema=ACTIVITY_SCHEMA)


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """What wsframes knows about one ``error_reason`` code."""

    code: str
    type: str  # Webshare's own split: "configuration" or "connection" ("unknown" if unseen)
    http_status: int | None
    category: str
    meaning: str


#: Category -> one line of advice: what to do about failures of that kind.
CATEGORY_ADVICE: Final[dict[str, str]] = {
    "proxy_list_outdated": (
        "Your proxy list is stale (proxies were replaced): re-download the list from the dashboard "
        "or /api/v2/proxy/list/ and reload it in the scraper."
    ),
    "concurrency_limit": (
        "Too many simultaneous connections for the plan: lower the scraper's concurrency or "
        "upgrade the plan's thread limit."
    ),
    "bandwidth_exhausted": (
        "The plan's bandwidth is used up: buy more bandwidth or wait for the next billing period."
    ),
    "destination_blocked": (
        "Webshare does not allow this destination: remove it from the crawl or contact support."
    ),
    "target_dns": (
        "The target host name does not resolve: check the URL for typos and dead domains."
    ),
    "target_connection": (
        "The proxy could not reach the target: the site may be down, slow or blocking; retry "
        "with backoff and watch which domains and proxies concentrate the failures."
    ),
    "unknown": (
        "A code wsframes does not know yet: read error_reason_how_to_fix and report it so the "
        "catalogue can learn it."
    ),
}

#: Known codes (public docs and SDKs). "probable" types in the API notes are marked in `meaning`.
ERROR_CATALOGUE: Final[dict[str, ErrorCode]] = {
    e.code: e
    for e in (
        ErrorCode(
            "client_connect_forbidden_host", "configuration", 403, "destination_blocked",
            "the target may not be reached through Webshare",
        ),
        ErrorCode(
            "no_proxies_allocated", "configuration", 407, "proxy_list_outdated",
            "the proxy used is no longer in the account's list (e.g. after a replacement)",
        ),
        ErrorCode(
            "client_connect_high_concurrency", "configuration", 429, "concurrency_limit",
            "the plan's concurrency limit was exceeded (type probable)",
        ),
        ErrorCode(
            "bandwidthlimit", "configuration", 402, "bandwidth_exhausted",
            "the plan's bandwidth is used up (type probable)",
        ),
        ErrorCode(
            "target_connect_resolve_failed", "connection", 502, "target_dns",
            "the target host name did not resolve (type probable)",
        ),
        ErrorCode(
            "target_connect_unknown_error", "connection", 502, "target_connection",
            "the tunnel to the target failed (type probable)",
        ),
    )
}


def describe_error(code: str) -> ErrorCode:
    """Catalogue entry for *code*; an unknown code gets category and type ``unknown``."""
    known = ERROR_CATALOGUE.get(code)
    if known is not None:
        return known
    return ErrorCode(code, "unknown", None, "unknown", "not in the wsframes catalogue")


# -- the proxy pool (issue 12) ------------------------------------------------------------------
# Appended as a block so it merges cleanly. Frames of proxies never carry the API's ``password``
# field (a secret); a ``plan_id``/``subuser_id`` column can be added later without changing
# anything that joins on ``proxy_address``.

#: One row per proxy of ``/api/v2/proxy/list/`` (``asn_*`` and ``high_country_confidence`` are
#: observed on the live API but undocumented; null where absent). No ``password`` column, ever.
PROXY_SCHEMA: Final = pl.Schema(
    {
        "id": pl.String(),
        "username": pl.String(),
        "proxy_address": pl.String(),
        "port": pl.Int32(),
        "valid": pl.Boolean(),
        "last_verification": pl.Datetime("us", "UTC"),
        "country_code": pl.String(),
        "city_name": pl.String(),
        "asn_number": pl.Int64(),
        "asn_name": pl.String(),
        "high_country_confidence": pl.Boolean(),
        "created_at": pl.Datetime("us", "UTC"),
    }
)

#: One row per past replacement of ``/api/v2/proxy/list/replaced/`` (fields of the official SDK's
#: ``ReplacedProxy``): ``proxy`` left the pool at ``created_at``, ``replaced_with`` took its place.
REPLACED_PROXY_SCHEMA: Final = pl.Schema(
    {
        "id": pl.Int64(),
        "reason": pl.String(),
        "proxy": pl.String(),
        "proxy_port": pl.Int32(),
        "proxy_country_code": pl.String(),
        "replaced_with": pl.String(),
        "replaced_with_port": pl.Int32(),
        "replaced_with_country_code": pl.String(),
        "created_at": pl.Datetime("us", "UTC"),
    }
)

#: The error-reason breakdown of ``/api/v2/stats/``: Webshare's own ``type`` and ``http_status``
#: per code, summed over the window.
ERROR_REASON_SCHEMA: Final = pl.Schema(
    {
        "reason": pl.String(),
        "type": pl.String(),
        "http_status": pl.Int32(),
        "how_to_fix": pl.String(),
        "count": pl.Int64(),
    }
)

__all__ += ["ERROR_REASON_SCHEMA", "PROXY_SCHEMA", "REPLACED_PROXY_SCHEMA"]
