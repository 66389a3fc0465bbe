"""Headline numbers and alerts: what a reader must see first.

Alerts fire only when something is wrong: data missing at an edge of the window, error codes
wsframes does not know, hours whose error rate spikes far above the period's own rate, and (when
the previous period is loaded) latency or success-rate regressions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from wsframes.report.data import ReportData
from wsframes.schema import describe_error

__all__ = ["PHASES", "Alert", "find_alerts", "headline"]

#: Latency phases: column and label.
PHASES = (("handshake_duration", "handshake"), ("tunnel_duration", "tunnel"), ("request_duration", "request"))

# A spike is an hour at least this many times the period's error rate, this many binomial standard
# deviations above it, with enough requests that one or two failures cannot trigger it.
SPIKE_RATIO, SPIKE_Z, SPIKE_MIN_REQUESTS = 2.0, 4.0, 30
# Regressions against the previous period worth a reader's attention.
LATENCY_REGRESSION, LATENCY_MIN_DELTA_S, SUCCESS_DROP = 0.25, 0.020, 0.01


@dataclass(frozen=True)
class Alert:
    """One thing that is wrong: ``level`` is ``critical`` or ``warning``; text is plain (escaped later)."""

    level: str
    title: str
    detail: str


def headline(frame: pl.DataFrame) -> dict[str, Any]:
    """Requests, successes, success rate, bytes and p50/p95/p99 of every phase, in seconds.

    >>> import polars as pl
    >>> df = pl.DataFrame({"error_reason": [None, "x"], "bytes": [10, 0], "handshake_duration": [0.1, 0.2],
    ...                    "tunnel_duration": [1.0, None], "request_duration": [1.2, 0.2]})
    >>> h = headline(df)
    >>> h["requests"], h["success_rate"], h["bytes"], h["tunnel_p50"]
    (2, 0.5, 10, 1.0)
    """
    exprs: list[pl.Expr] = [
        pl.len().alias("requests"),
        pl.col("error_reason").is_null().sum().alias("successes"),
        pl.col("bytes").sum().alias("bytes"),
    ]
    for column, phase in PHASES:
        for q in (50, 95, 99):
            exprs.append(pl.col(column).quantile(q / 100, interpolation="linear").alias(f"{phase}_p{q}"))
    out = frame.select(exprs).row(0, named=True)
    out["success_rate"] = out["successes"] / out["requests"] if out["requests"] else None
    return out


def find_alerts(data: ReportData, *, tz: str = "UTC") -> list[Alert]:
    """Everything wrong with the period, most serious first."""
    alerts = [
        Alert("critical", "Incomplete data", f"{msg}; numbers below may understate traffic.")
        for msg in data.coverage.missing_edges
    ]
    alerts += _unknown_codes(data.current)
    alerts += _error_spikes(data.current, tz)
    if data.previous is not None and data.previous.height:
        alerts += _regressions(headline(data.current), headline(data.previous))
    return sorted(alerts, key=lambda a: a.level != "critical")


def _unknown_codes(frame: pl.DataFrame) -> list[Alert]:
    counts = (
        frame.group_by(pl.col("error_reason").cast(pl.String)).len().drop_nulls().sort("len", descending=True)
    )
    unknown = [(c, n) for c, n in counts.iter_rows() if describe_error(c).category == "unknown"]
    if not unknown:
        return []
    listed = ", ".join(f"{code} ({n:,})" for code, n in unknown[:5])
    return [
        Alert(
            "warning",
            "Unknown error codes",
            f"codes wsframes does not know yet: {listed}. "
            "Read their how-to-fix text in the error table below.",
        )
    ]


def _error_spikes(frame: pl.DataFrame, tz: str) -> list[Alert]:
    hourly = (
        frame.group_by(pl.col("timestamp").dt.truncate("1h").alias("hour"))
        .agg(n=pl.len(), errors=pl.col("error_reason").is_not_null().sum())
        .sort("hour")
    )
    total, errors = int(hourly["n"].sum() or 0), int(hourly["errors"].sum() or 0)
    if total == 0 or errors == 0:
        return []
    p = errors / total
    sd = (pl.col("n") * p * (1 - p)).sqrt()
    spikes = hourly.filter(
        (pl.col("n") >= SPIKE_MIN_REQUESTS)
        & (pl.col("errors") / pl.col("n") >= SPIKE_RATIO * p)
        & ((pl.col("errors") - pl.col("n") * p) >= SPIKE_Z * sd)
    ).with_columns(rate=pl.col("errors") / pl.col("n"))
    if spikes.is_empty():
        return []
    worst = spikes.sort("rate", descending=True).row(0, named=True)
    when = worst["hour"].astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:00 %Z")
    return [
        Alert(
            "critical",
            "Error spikes",
            f"{spikes.height} hour(s) with an error rate at least {SPIKE_RATIO:g}× the period's {p:.1%}; "
            f"worst: {when}, {worst['rate']:.1%} of {worst['n']:,} requests failed.",
        )
    ]


def _regressions(now: dict[str, Any], before: dict[str, Any]) -> list[Alert]:
    alerts = []
    for _, phase in PHASES:
        new, old = now[f"{phase}_p95"], before[f"{phase}_p95"]
        if (
            _finite(new, old)
            and old > 0
            and new / old - 1 >= LATENCY_REGRESSION
            and new - old >= LATENCY_MIN_DELTA_S
        ):
            alerts.append(
                Alert(
                    "warning",
                    f"Slower {phase}",
                    f"p95 {phase} time rose {new / old - 1:.0%} against the previous period "
                    f"({old * 1000:,.0f} ms → {new * 1000:,.0f} ms).",
                )
            )
    new_sr, old_sr = now["success_rate"], before["success_rate"]
    if _finite(new_sr, old_sr) and old_sr - new_sr >= SUCCESS_DROP:
        alerts.append(
            Alert(
                "critical",
                "Success rate dropped",
                f"{new_sr:.2%} of requests succeeded, down from {old_sr:.2%} in the previous period.",
            )
        )
    return alerts


def _finite(*values: Any) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)
