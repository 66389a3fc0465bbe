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
from wsframes import errors, schema  # noqa: F401  (light; documented as wsframes.schema.*)
from wsframes._exports import EXPORTS

__all__ = list(EXPORTS)

if TYPE_CHECKING:  # static tools see the real objects; "X as X" marks each one as exported
    from wsframes._config import Config as Config
    from wsframes._config import ConfigOverrides as ConfigOverrides
    from wsframes._version import __version__ as __version__
    from wsframes.analysis import PeriodComparison as PeriodComparison
    from wsframes.analysis import QuantileSketch as QuantileSketch
    from wsframes.analysis import ReplacementPlan as ReplacementPlan
    from wsframes.analysis import apdex as apdex
    from wsframes.analysis import bandwidth_by as bandwidth_by
    from wsframes.analysis import client_audit as client_audit
    from wsframes.analysis import compare_periods as compare_periods
    from wsframes.analysis import enrich as enrich
    from wsframes.analysis import error_rate_over_time as error_rate_over_time
    from wsframes.analysis import error_taxonomy as error_taxonomy
    from wsframes.analysis import estimated_concurrency as estimated_concurrency
    from wsframes.analysis import find_incidents as find_incidents
    from wsframes.analysis import hourly_profile as hourly_profile
    from wsframes.analysis import latency_ccdf as latency_ccdf
    from wsframes.analysis import latency_histogram as latency_histogram
    from wsframes.analysis import latency_over_time as latency_over_time
    from wsframes.analysis import latency_summary as latency_summary
    from wsframes.analysis import pool_health as pool_health
    from wsframes.analysis import replacement_plan as replacement_plan
    from wsframes.analysis import slo_attainment as slo_attainment
    from wsframes.analysis import standing_problems as standing_problems
    from wsframes.analysis import top_offenders as top_offenders
    from wsframes.analysis import traffic_over_time as traffic_over_time
    from wsframes.analysis import wilson_interval as wilson_interval
    from wsframes.archive import archive_status as archive_status
    from wsframes.archive import check_completeness as check_completeness
    from wsframes.archive import scan_activity as scan_activity
    from wsframes.archive import sync as sync
    from wsframes.errors import APIError as APIError
    from wsframes.errors import ArchiveError as ArchiveError
    from wsframes.errors import AuthenticationError as AuthenticationError
    from wsframes.errors import BadRequestError as BadRequestError
    from wsframes.errors import ConfigurationError as ConfigurationError
    from wsframes.errors import DamagedFileError as DamagedFileError
    from wsframes.errors import IncompleteDataError as IncompleteDataError
    from wsframes.errors import PermissionDeniedError as PermissionDeniedError
    from wsframes.errors import RateLimitError as RateLimitError
    from wsframes.errors import ReportError as ReportError
    from wsframes.errors import ServerError as ServerError
    from wsframes.errors import TransportError as TransportError
    from wsframes.errors import WsframesError as WsframesError
    from wsframes.fake import FakeWebshare as FakeWebshare
    from wsframes.fake import generate_activity as generate_activity
    from wsframes.frames import to_pandas as to_pandas
    from wsframes.loader import Client as Client
    from wsframes.pool import load_error_reasons as load_error_reasons
    from wsframes.pool import load_proxies as load_proxies
    from wsframes.pool import load_replaced_proxies as load_replaced_proxies
    from wsframes.report import build_demo_report as build_demo_report
    from wsframes.report import build_report as build_report
    from wsframes.schema import ACTIVITY_SCHEMA as ACTIVITY_SCHEMA
    from wsframes.schema import ERROR_CATALOGUE as ERROR_CATALOGUE
    from wsframes.schema import describe_error as describe_error
    from wsframes.schema import empty_activity as empty_activity


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
        raise errors.ConfigurationError(
            f"{', '.join(given)} cannot be combined with archive=...: the archive stores whole "
            "windows. Load with archive= and filter the frame, or drop archive=."
        )
    from wsframes.archive.load import load_with_archive

    return load_with_archive(archive, start, end, plan_id=plan_id, config=cfg)


def __getattr__(name: str) -> Any:
    module = EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wsframes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(EXPORTS))
