"""Headline numbers and alerts: what a reader must see first.

Alerts fire only when something is wrong: data missing at an edge of the window or from a
stretch of hours that are busy on other days (:mod:`wsframes.report.gaps`), error codes
wsframes does not know, and incidents (:func:`wsframes.analysis.find_incidents`, against the
previous period when it is loaded): error bursts, latency regressions, volume drops, bandwidth
surges and new error codes, each named by the segment that explains it, in one sentence (with a
drill-down figure, volume incidents aside: :mod:`wsframes.report.incidents`). The incident tests
hold a false-alarm budget of 1% per report, so a quiet period gives a quiet Alerts section.

Every alert has a ``level`` (also readable as ``severity``): ``critical``, ``warning`` or ``info``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from wsframes.analysis._quantile import scan_quantiles
from wsframes.api.progress import relay_step
from wsframes.report.coverage import no_data_alerts
from wsframes.report.data import ReportData, collect
from wsframes.report.gaps import interior_gaps
from wsframes.report.incidents import drilldown_png, incident_alerts
from wsframes.report.render import alert_item_html, local
from wsframes.schema import DURATION_COLUMNS, describe_error

if TYPE_CHECKING:
    from wsframes.report.pool_section import PoolInputs

__all__ = ["LEVELS", "PHASES", "Alert", "alerts_html", "find_alerts", "headline"]

log = logging.getLogger(__name__)

#: Alert levels, most serious first.
LEVELS = ("critical", "warning", "info")

#: Latency phases: column and label.
PHASES = tuple((column, column.removesuffix("_duration")) for column in DURATION_COLUMNS)


@dataclass(frozen=True)
class Alert:
    """One thing that is wrong: ``level`` is one of :data:`LEVELS`; text is plain (escaped later).

    ``incident`` is the :func:`~wsframes.analysis.find_incidents` row behind the alert, if any.
    """

    level: str
    title: str
    detail: str
    incident: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def severity(self) -> str:
        """The level: ``critical``, ``warning`` or ``info``."""
        return self.level


def headline(frame: pl.DataFrame | pl.LazyFrame, *, spectrum: Sequence[float] = ()) -> dict[str, Any]:
    """Requests, successes, success rate, bytes and p50/p95/p99 of every phase, in seconds.

    With *spectrum* (quantiles), also each phase's values at them as ``"{phase}_spectrum"``
    (None where the phase has no value), from the same passes: the report's latency curves
    (:func:`wsframes.report.sections.ccdf_frame`) cost no passes of their own.

    >>> import polars as pl
    >>> df = pl.DataFrame({"error_reason": [None, "x"], "bytes": [10, 0], "handshake_duration": [0.1, 0.2],
    ...                    "tunnel_duration": [1.0, None], "request_duration": [1.2, 0.2]})
    >>> h = headline(df)
    >>> h["requests"], h["success_rate"], h["bytes"], h["tunnel_p50"]
    (2, 0.5, 10, 1.0)
    """
    lf = frame.lazy()
    relay_step("headline figures")
    sums = lf.select(
        pl.len().alias("requests"),
        pl.col("error_reason").is_null().sum().alias("successes"),
        pl.col("bytes").sum().alias("bytes"),
    )
    out = collect(sums).row(0, named=True)
    # Exact, out of core: a column of 100M durations is never held (see scan_quantiles).
    marks = (0.5, 0.95, 0.99)
    wanted = (*marks, *spectrum)
    quantiles = scan_quantiles(lf, {column: wanted for column, _ in PHASES})
    for column, phase in PHASES:
        values = quantiles[column]
        out.update({f"{phase}_p{round(q * 100)}": v for q, v in zip(marks, values, strict=False)})
        if spectrum:
            out[f"{phase}_spectrum"] = values[len(marks) :]
    out["success_rate"] = out["successes"] / out["requests"] if out["requests"] else None
    return out


def find_alerts(
    data: ReportData,
    *,
    tz: str = "UTC",
    pool: PoolInputs | None = None,
    reference: Mapping[str, Any] | None = None,
) -> list[Alert]:
    """Everything wrong with the period, most serious first; with the *pool*'s proxy list,
    incidents are also looked for by the proxies' country and network (ASN). *reference* is the
    :func:`headline` of the period the incidents are measured against (the previous one when it
    has rows, else this one): its p95s are their slow cut-offs, not read again."""
    rich = pool.enrich if pool is not None else (lambda frame: frame)
    p95 = None if reference is None else {column: reference[f"{phase}_p95"] for column, phase in PHASES}
    alerts = [Alert(*a) for a in no_data_alerts(data, tz=tz)]
    alerts += [
        Alert("critical", "Incomplete data", f"{msg}; numbers below may understate traffic.")
        for msg in data.coverage.missing_edges
    ]
    alerts += _guarded("missing-hours check", lambda: _gaps(data, tz))
    alerts += _guarded("error-code check", lambda: _unknown_codes(data.current))
    alerts += _guarded("incident search", lambda: [
        Alert(**fields) for fields in incident_alerts(
            rich(data.current), baseline=None if data.previous is None else rich(data.previous), tz=tz,
            p95=p95)
    ])
    return sorted(alerts, key=lambda a: LEVELS.index(a.level) if a.level in LEVELS else len(LEVELS))


def _guarded(name: str, check: Callable[[], list[Alert]]) -> list[Alert]:
    """One check's alerts; a check that fails is itself a critical alert, not a lost report."""
    try:
        return check()
    except Exception as exc:  # a bug on unusual data must not hide every other finding
        log.warning("the report's %s failed", name, exc_info=True)
        why = (str(exc).splitlines() or [""])[0][:200]
        return [
            Alert(
                "critical",
                "Section failed",
                f"the {name} could not be run ({type(exc).__name__}: "
                f"{why}); the other alerts are sound. Please report it.",
            )
        ]


def alerts_html(alerts: list[Alert], frame: pl.DataFrame | pl.LazyFrame, *, tz: str = "UTC") -> str:
    """The Alerts section: one escaped item per alert, incidents with their drill-down figure."""
    if not alerts:
        return (
            "<p class=ws-ok>No alerts: no incidents, unknown error codes or missing data in this period "
            "(incidents are tested with a 1% false-alarm budget per report).</p>"
        )
    items = "".join(alert_item_html(a.level, a.title, a.detail, _figure(a, frame, tz)) for a in alerts)
    return f"<ul class=ws-alerts>{items}</ul><style>.ws-drill{{max-width:100%;margin-top:6px}}</style>"


def _figure(alert: Alert, frame: pl.DataFrame | pl.LazyFrame, tz: str) -> str | None:
    if alert.incident is None:
        return None
    return drilldown_png(frame, alert.incident, tz=tz)


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


def _unknown_codes(frame: pl.LazyFrame) -> list[Alert]:
    counts = collect(
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
