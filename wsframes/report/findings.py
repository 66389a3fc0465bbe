"""Headline numbers and alerts: what a reader must see first.

Alerts fire only when something is wrong: data missing at an edge of the window or from a
stretch of hours that are busy on other days (:mod:`wsframes.report.gaps`), error codes
wsframes does not know, hours whose error rate or p95 rises far above the period's own baseline
(:func:`wsframes.analysis.anomalous_hours`), and, when the previous period is loaded, latency or
success-rate regressions and error codes that were not there before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from wsframes.analysis.compare import compare_periods
from wsframes.analysis.health import anomalous_hours
from wsframes.report.coverage import no_data_alerts
from wsframes.report.data import ReportData
from wsframes.report.gaps import interior_gaps
from wsframes.report.render import local
from wsframes.schema import describe_error

__all__ = ["PHASES", "Alert", "find_alerts", "headline"]

#: Latency phases: column and label.
PHASES = (("handshake_duration", "handshake"), ("tunnel_duration", "tunnel"), ("request_duration", "request"))

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
    alerts = [Alert(*a) for a in no_data_alerts(data, tz=tz)]
    alerts += [
        Alert("critical", "Incomplete data", f"{msg}; numbers below may understate traffic.")
        for msg in data.coverage.missing_edges
    ]
    alerts += _gaps(data, tz)
    alerts += _unknown_codes(data.current)
    alerts += _spikes(data.current, tz)
    if data.previous is not None and data.previous.height and data.current.height:
        alerts += _regressions(headline(data.current), headline(data.previous))
        alerts += _new_error_codes(data.current, data.previous)
    return sorted(alerts, key=lambda a: a.level != "critical")


def _gaps(data: ReportData, tz: str) -> list[Alert]:
    """Runs of empty hours inside the data where those hours are usually busy (see report.gaps)."""
    gaps = interior_gaps(data.current, data.start, data.end, tz=tz)
    if not gaps:
        return []
    listed = "; ".join(
        f"{local(g.start, tz)} → {local(g.end, tz)} ({g.hours} hours, usually ~{g.expected:,.0f} requests)"
        for g in gaps[:3]
    )
    more = f" and {len(gaps) - 3} more" if len(gaps) > 3 else ""
    return [
        Alert(
            "critical",
            "Incomplete data",
            f"no records at all in {listed}{more}, while the same hours of other days are busy: records "
            "may be missing (or nothing used the proxies then); numbers below may understate traffic.",
        )
    ]


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


def _spikes(frame: pl.DataFrame, tz: str) -> list[Alert]:
    """Hours whose error rate or p95 request time rose far above the period's own baseline."""
    if frame.height == 0:
        return []
    # 30 requests an hour: enough that one or two failures cannot make a spike on their own.
    hours = anomalous_hours(frame, every="1h", tz=tz, metric="request_duration", min_requests=30)
    assert isinstance(hours, pl.DataFrame)
    alerts = []
    errors = hours.filter(pl.col("reason").str.contains("error_rate", literal=True))
    if errors.height:
        w = errors.sort("error_rate_z", descending=True).row(0, named=True)
        alerts.append(
            Alert(
                "critical",
                "Error spikes",
                f"{errors.height} hour(s) far above the period's usual error rate of "
                f"{w['error_rate_baseline']:.1%}; worst: {_hour(w['time'])}, "
                f"{w['error_rate']:.1%} of {w['requests']:,} requests failed.",
            )
        )
    slow = hours.filter(pl.col("reason").str.contains("p95", literal=True))
    if slow.height:
        w = slow.sort("p95_z", descending=True).row(0, named=True)
        alerts.append(
            Alert(
                "warning",
                "Latency spikes",
                f"{slow.height} hour(s) with p95 request time far above the usual "
                f"{w['p95_baseline']:.2f} s; worst: {_hour(w['time'])}, {w['p95']:.2f} s.",
            )
        )
    return alerts


def _hour(ts: Any) -> str:
    return str(ts.strftime("%a %Y-%m-%d %H:00 %Z"))


def _new_error_codes(current: pl.DataFrame, previous: pl.DataFrame) -> list[Alert]:
    changes = compare_periods(previous, current, metric="request_duration").changes
    assert isinstance(changes, pl.DataFrame)
    new = changes.filter((pl.col("kind") == "error_reason") & (pl.col("status") == "appeared"))
    if new.is_empty():
        return []
    listed = ", ".join(f"{v} ({n:,})" for v, n in new.select("value", "requests").iter_rows())
    return [Alert("warning", "New error codes", f"not seen in the previous period: {listed}.")]


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
