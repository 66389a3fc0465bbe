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
from typing import TYPE_CHECKING, Any

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

__version__ = "0.1.0"

# Public name -> the module that defines it; imported on first attribute access.
_LAZY = {
    "Client": "wsframes.loader",
    "load_activity": "wsframes.loader",
    "to_pandas": "wsframes.frames",
    "sync": "wsframes.archive",
    "scan_activity": "wsframes.archive",
    "archive_status": "wsframes.archive",
    "check_completeness": "wsframes.archive",
    "build_report": "wsframes.report",
    "build_demo_report": "wsframes.report",
    "FakeWebshare": "wsframes.fake",
    "generate_activity": "wsframes.fake",
    **{
        name: "wsframes.analysis"
        for name in (
            "QuantileSketch",
            "anomalous_hours",
            "apdex",
            "bandwidth_by",
            "compare_periods",
            "error_rate_over_time",
            "error_taxonomy",
            "estimated_concurrency",
            "find_incidents",
            "hourly_profile",
            "latency_ccdf",
            "latency_histogram",
            "latency_over_time",
            "latency_summary",
            "proxy_health",
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
    "compare_periods",
    "describe_error",
    "empty_activity",
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
    "proxy_health",
    "scan_activity",
    "slo_attainment",
    "sync",
    "to_pandas",
    "top_offenders",
    "traffic_over_time",
    "wilson_interval",
]

if TYPE_CHECKING:  # static tools see the real objects
    from wsframes.analysis import (
        QuantileSketch,
        anomalous_hours,
        apdex,
        bandwidth_by,
        compare_periods,
        error_rate_over_time,
        error_taxonomy,
        estimated_concurrency,
        find_incidents,
        hourly_profile,
        latency_ccdf,
        latency_histogram,
        latency_over_time,
        latency_summary,
        proxy_health,
        slo_attainment,
        top_offenders,
        traffic_over_time,
        wilson_interval,
    )
    from wsframes.archive import archive_status, check_completeness, scan_activity
    from wsframes.archive.sync import sync
    from wsframes.fake import FakeWebshare, generate_activity
    from wsframes.frames import to_pandas
    from wsframes.loader import Client, load_activity
    from wsframes.report import build_demo_report, build_report


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wsframes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
