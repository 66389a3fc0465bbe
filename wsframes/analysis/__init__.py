"""Analysis helpers: Polars expressions and frame functions over activity frames.

Every frame function takes the activity frame first (Polars ``DataFrame`` or ``LazyFrame``, pandas
``DataFrame``, a DuckDB relation, a PySpark DataFrame or another lazy frame Narwhals reads) and
everything else keyword-only, and returns the same kind of frame: lazy in, lazy out. On DuckDB and
Spark, ``latency_summary``, ``error_taxonomy`` and ``traffic_over_time`` aggregate inside the
engine (:mod:`wsframes.analysis._pushdown`); the other helpers stream the columns they read into
Polars (:mod:`wsframes.analysis._engines`). ``by=`` takes column names, expressions or the derived
``"outcome"`` (``"success"``/``"failed"``); time buckets honour ``tz=`` (default UTC). Results are tidy frames
with documented columns; an empty input gives an empty frame with those columns.

Units, the same in every result: durations (``p50``, ``p95``, ``mean``, ``value``...) in seconds;
``bytes`` in bytes; ``share``, ``*_rate``, ``attainment`` and ``ci_low``/``ci_high`` (the Wilson
interval of the rate or share beside them) are fractions, 0.25 meaning 25 %; a ``share`` is of the
group's requests (``share_of_failures``: of its failed requests); ``time`` is a bucket's start in
``tz``. Pandas results use nullable dtypes (``Int64``, ``Float64``, ``string``: missing is ``<NA>``).
Every frame function is also a method of the frame: ``df.ws.error_taxonomy(by="domain")``.

=========================  ===============================================================
latency                    latency_summary, latency_histogram, latency_ccdf, latency_over_time
service levels             slo_attainment, apdex
errors                     error_taxonomy, error_rate_over_time, top_offenders
traffic                    traffic_over_time, hourly_profile, bandwidth_by, estimated_concurrency
change                     compare_periods (-> PeriodComparison)
health                     proxy_health, anomalous_hours
the proxy pool             enrich, pool_health, replacement_plan, client_audit
building blocks            outcome_expr, wilson_interval, QuantileSketch, catalogue_frame
=========================  ===============================================================
"""

from __future__ import annotations

from wsframes.analysis._frames import outcome_expr, wilson_interval
from wsframes.analysis.compare import PeriodComparison, compare_periods
from wsframes.analysis.errors import catalogue_frame, error_rate_over_time, error_taxonomy, top_offenders
from wsframes.analysis.health import anomalous_hours, proxy_health
from wsframes.analysis.latency import latency_ccdf, latency_histogram, latency_over_time, latency_summary
from wsframes.analysis.pool import client_audit, enrich, pool_health
from wsframes.analysis.replacement import ReplacementPlan, replacement_plan
from wsframes.analysis.sketch import QuantileSketch
from wsframes.analysis.slo import apdex, slo_attainment
from wsframes.analysis.traffic import bandwidth_by, estimated_concurrency, hourly_profile, traffic_over_time

__all__ = [
    "PeriodComparison",
    "QuantileSketch",
    "ReplacementPlan",
    "anomalous_hours",
    "apdex",
    "bandwidth_by",
    "catalogue_frame",
    "client_audit",
    "compare_periods",
    "enrich",
    "error_rate_over_time",
    "error_taxonomy",
    "estimated_concurrency",
    "hourly_profile",
    "latency_ccdf",
    "latency_histogram",
    "latency_over_time",
    "latency_summary",
    "outcome_expr",
    "pool_health",
    "proxy_health",
    "replacement_plan",
    "slo_attainment",
    "top_offenders",
    "traffic_over_time",
    "wilson_interval",
]
