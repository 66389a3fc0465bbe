"""Analysis helpers: Polars expressions and frame functions over activity frames.

Every frame function takes the activity frame first (Polars ``DataFrame`` or ``LazyFrame``, or
pandas ``DataFrame``) and everything else keyword-only, and returns the same kind of frame:
lazy in, lazy out. ``by=`` takes column names, expressions or the derived ``"outcome"``
(``"success"``/``"failed"``); time buckets honour ``tz=`` (default UTC). Results are tidy frames
with documented columns; an empty input gives an empty frame with those columns.
"""

from __future__ import annotations

from wsframes.analysis._frames import outcome_expr, wilson_interval
from wsframes.analysis.errors import catalogue_frame, error_rate_over_time, error_taxonomy, top_offenders
from wsframes.analysis.latency import (
    apdex,
    latency_ccdf,
    latency_histogram,
    latency_over_time,
    latency_summary,
    slo_attainment,
)
from wsframes.analysis.sketch import QuantileSketch

__all__ = [
    "QuantileSketch",
    "apdex",
    "catalogue_frame",
    "error_rate_over_time",
    "error_taxonomy",
    "latency_ccdf",
    "latency_histogram",
    "latency_over_time",
    "latency_summary",
    "outcome_expr",
    "slo_attainment",
    "top_offenders",
    "wilson_interval",
]
