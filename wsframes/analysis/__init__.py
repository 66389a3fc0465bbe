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

Beyond those, column by column:

- counts (``requests``, ``count``, ``failed``, ``requests_affected``,
  ``stale_list_attempts``) are numbers of requests; ``p_value``, ``p_adjusted`` and ``q_value``
  are probabilities (0..1);
- ``find_incidents``: ``start``/``end`` are UTC instants (``end`` exclusive, null while
  ongoing); ``observed``/``expected`` are in the unit of ``metric``: ``error_rate`` a fraction
  of the segment's requests, ``handshake_duration_p95`` (``tunnel_``, ``request_``) seconds,
  ``requests`` (gaps, new codes) a count; ``explained_share`` is the fraction of the
  account-wide excess inside the segment;
  ``Incidents(frame)`` shows the frame as a readable table in Jupyter;
- ``standing_problems``: ``excess_failed`` failures beyond the rest's rate (a count, not whole),
  ``rest_error_rate`` and ``share_of_failures`` fractions, ``also_previous`` true/false/null (unknown);
- ``enrich`` adds ``proxy_asn`` (an AS number), ``proxy_subnet_24`` (text, ``"198.19.1.0/24"``)
  and ``proxy_replaced_at`` (UTC instant); ``pool_health``: ``error_rate`` and
  ``pool_error_rate`` fractions, ``p50``/``p95``/``p99`` seconds of successful requests (null
  where the group holds too few: 20, 200, 1000); ``client_audit``: ``first_seen``/``last_seen``
  UTC instants; ``replacement_plan``'s ``rest_error_rate`` a fraction, ``proxies`` a count;
- ``latency_histogram``: ``bin_start``/``bin_end`` seconds, ``share``/``cumulative_share`` of
  the metric's values; ``latency_ccdf``: ``quantile`` and ``exceedance`` (1 - quantile)
  fractions, ``value`` seconds; ``bandwidth_by``: ``share``/``cumulative_share`` of all bytes,
  ``mean_bytes`` bytes; ``apdex``: a score from 0 to 1; ``estimated_concurrency``: requests in
  flight (time average and peak); ``hourly_profile``: ``weekday`` 1 (Monday) to 7 and ``hour``
  0-23 in ``tz``.

Every frame function is also a method of the frame: ``df.ws.error_taxonomy(by="domain")``.

=========================  ===============================================================
latency                    latency_summary, latency_histogram, latency_ccdf, latency_over_time
service levels             slo_attainment, apdex
errors                     error_taxonomy, error_rate_over_time, top_offenders, standing_problems
traffic                    traffic_over_time, hourly_profile, bandwidth_by, estimated_concurrency
change                     compare_periods (-> PeriodComparison)
the proxy pool             enrich, pool_health, replacement_plan, client_audit
incidents                  find_incidents (what is wrong, where, since when), Incidents (view)
building blocks            outcome_expr, wilson_interval, QuantileSketch, catalogue_frame
=========================  ===============================================================
"""

from __future__ import annotations

from wsframes.analysis._display import Incidents
from wsframes.analysis._frames import outcome_expr, wilson_interval
from wsframes.analysis.compare import PeriodComparison, compare_periods
from wsframes.analysis.errors import (
    catalogue_frame,
    error_rate_over_time,
    error_taxonomy,
    standing_problems,
    top_offenders,
)
from wsframes.analysis.incidents import find_incidents
from wsframes.analysis.latency import latency_ccdf, latency_histogram, latency_over_time, latency_summary
from wsframes.analysis.pool import client_audit, enrich, pool_health
from wsframes.analysis.replacement import ReplacementPlan, replacement_plan
from wsframes.analysis.sketch import QuantileSketch
from wsframes.analysis.slo import apdex, slo_attainment
from wsframes.analysis.traffic import bandwidth_by, estimated_concurrency, hourly_profile, traffic_over_time

__all__ = [
    "Incidents",
    "PeriodComparison",
    "QuantileSketch",
    "ReplacementPlan",
    "apdex",
    "bandwidth_by",
    "catalogue_frame",
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
    "outcome_expr",
    "pool_health",
    "replacement_plan",
    "slo_attainment",
    "standing_problems",
    "top_offenders",
    "traffic_over_time",
    "wilson_interval",
]
