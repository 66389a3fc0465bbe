"""wsframes: Webshare proxy activity as typed Polars (and pandas) frames, analysis and reports.

>>> import wsframes as wsf
>>> wsf.ACTIVITY_SCHEMA["timestamp"]
Datetime(time_unit='us', time_zone='UTC')

Load a window (``wsf.load_activity("7d")``), analyse it (``wsf.latency_summary(df)``,
``wsf.error_taxonomy(df)``), keep history (``wsf.sync()``, ``wsf.scan_activity(...)``) and build a
report (``wsf.build_report(...)``). Submodules load on first use, so ``import wsframes`` stays
light (no Jupyter or matplotlib until a report or plot is asked for).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Unpack

import wsframes.namespace  # noqa: F401  (registers the .ws namespaces on Polars and pandas frames)
from wsframes._version import __version__
from wsframes.errors import (
    APIError,
    ArchiveError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    IncompleteDataError,
    PermissionDeniedError,
    RateLimitError,
    ReportError,
    ServerError,
    TransportError,
    WsframesError,
)
from wsframes.schema import ACTIVITY_SCHEMA, ERROR_CATALOGUE, describe_error, empty_activity

# Public name -> the module that defines it; imported on first attribute access.
_LAZY = {
    "Client": "wsframes.loader",
    "Config": "wsframes._config",
    "ConfigOverrides": "wsframes._config",
    "to_pandas": "wsframes.frames",
    "sync": "wsframes.archive",
    "scan_activity": "wsframes.archive",
    "archive_status": "wsframes.archive",
    "check_completeness": "wsframes.archive",
    "build_report": "wsframes.report",
    "build_demo_report": "wsframes.report",
    "FakeWebshare": "wsframes.fake",
    "generate_activity": "wsframes.fake",
    "load_proxies": "wsframes.pool",
    "load_replaced_proxies": "wsframes.pool",
    "load_error_reasons": "wsframes.pool",
    **{
        name: "wsframes.analysis"
        for name in (
            "QuantileSketch",
            "anomalous_hours",
            "apdex",
            "bandwidth_by",
            "client_audit",
            "compare_periods",
            "enrich",
            "error_rate_over_time",
            "error_taxonomy",
            "estimated_concurrency",
            "find_incidents",
            "hourly_profile",
            "latency_ccdf",
            "latency_histogram",
            "latency_over_time",
            "latency_summary",
            "pool_health",
            "proxy_health",
            "replacement_plan",
            "slo_attainment",
            "top_offenders",
            "traffic_over_time",
            "wilson_interval",
        )
    },
}

__all__ = [
    "ACTIVITY_SCHEMA",
    "ERROR_CATALOGUE",
    "APIError",
    "ArchiveError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "Config",
    "ConfigOverrides",
    "ConfigurationError",
    "FakeWebshare",
    "IncompleteDataError",
    "PermissionDeniedError",
    "QuantileSketch",
    "RateLimitError",
    "ReportError",
    "ServerError",
    "TransportError",
    "WsframesError",
    "__version__",
    "anomalous_hours",
    "apdex",
    "archive_status",
    "bandwidth_by",
    "build_demo_report",
    "build_report",
    "check_completeness",
    "client_audit",
    "compare_periods",
    "describe_error",
    "empty_activity",
    "enrich",
    "error_rate_over_time",
    "error_taxonomy",
    "estimated_concurrency",
    "find_incidents",
    "generate_activity",
    "hourly_profile",
    "latency_ccdf",
    "latency_histogram",
    "latency_over_time",
    "latency_summary",
    "load_activity",
    "load_error_reasons",
    "load_proxies",
    "load_replaced_proxies",
    "pool_health",
    "proxy_health",
    "replacement_plan",
    "scan_activity",
    "slo_attainment",
    "sync",
    "to_pandas",
    "top_offenders",
    "traffic_over_time",
    "wilson_interval",
]

if TYPE_CHECKING:  # static tools see the real objects
    from wsframes._config import Config, ConfigOverrides
    from wsframes.analysis import (
        QuantileSketch,
        anomalous_hours,
        apdex,
        bandwidth_by,
        client_audit,
        compare_periods,
        enrich,
        error_rate_over_time,
        error_taxonomy,
        estimated_concurrency,
        find_incidents,
        hourly_profile,
        latency_ccdf,
        latency_histogram,
        latency_over_time,
        latency_summary,
        pool_health,
        proxy_health,
        replacement_plan,
        slo_attainment,
        top_offenders,
        traffic_over_time,
        wilson_interval,
    )
    from wsframes.archive import archive_status, check_completeness, scan_activity
    from wsframes.archive.sync import sync
    from wsframes.fake import FakeWebshare, generate_activity
    from wsframes.frames import to_pandas
    from wsframes.loader import Client
    from wsframes.pool import load_error_reasons, load_proxies, load_replaced_proxies
    from wsframes.report import build_demo_report, build_report


def load_activity(
    start: Any,
    end: Any = None,
    *,
    archive: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    plan_id: Any = None,
    search: str | None = None,
    error_reason: str | None = None,
    min_bytes: int | None = None,
    max_bytes: int | None = None,
    verification_category: str | None = None,
    **settings: Unpack[ConfigOverrides],
) -> Any:
    """Load every activity record in ``[start, end)`` as a typed, ascending Polars frame.

    Without *archive*: :func:`wsframes.loader.load_activity` (filters, ``config=`` and overrides
    of its fields such as ``requests_per_minute=``, ``connections=``). With ``archive=`` (a
    path), final archived intervals are read from disk and only the rest is fetched, with the
    same settings; this also serves history older than the API's 90 days. Filters other than
    ``plan_id`` cannot be combined with *archive* (the archive stores whole windows).
    """
    from wsframes._config import configure

    cfg = configure(config, settings)  # unknown or bad settings fail here, always
    if archive is None:
        from wsframes.loader import load_activity as load_from_api

        return load_from_api(start, end, config=cfg, plan_id=plan_id, search=search,
                             error_reason=error_reason, min_bytes=min_bytes, max_bytes=max_bytes,
                             verification_category=verification_category)
    extra = {"search": search, "error_reason": error_reason, "min_bytes": min_bytes,
             "max_bytes": max_bytes, "verification_category": verification_category}
    given = [name for name, value in extra.items() if value is not None]
    if isinstance(plan_id, list | tuple):
        given.append("a list of plan_id")  # scan_activity(plan_id=[...]) reads several plans
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} cannot be combined with archive=...: the archive stores whole "
            "windows. Load with archive= and filter the frame, or drop archive=."
        )
    from wsframes.archive.load import load_with_archive

    return load_with_archive(archive, start, end, plan_id=plan_id, config=cfg)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wsframes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
