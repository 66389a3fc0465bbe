"""Section content of the report: the numbers and tables the template shows, as escaped HTML.

The template notebook stays short and readable (one call per section); the logic lives here,
where it is typed and tested. Figures are drawn by :mod:`wsframes.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from wsframes._version import __version__
from wsframes.analysis.errors import standing_problems, top_offenders
from wsframes.api.progress import relay_step
from wsframes.report.data import ReportData, collect, count_rows
from wsframes.report.findings import PHASES, Alert
from wsframes.report.index import SUMMARY_MIME
from wsframes.report.render import Card, Format, fmt_bytes, fmt_pct, fmt_seconds, local, table_html

__all__ = [
    "CCDF_SPECTRUM",
    "ccdf_frame",
    "comparison_html",
    "footer_facts",
    "headline_cards",
    "standing_html",
    "summary_bundle",
    "taxonomy_html",
    "top_html",
]

#: Quantiles for the CCDF curves: even steps in the body, dense in the tail, out to p99.99.
CCDF_SPECTRUM = tuple(
    sorted({*np.round(np.linspace(0, 0.9, 19), 4), *np.round(1 - np.geomspace(0.1, 1e-4, 25), 6)})
)


def ccdf_frame(values: Sequence[float | None]) -> pl.DataFrame:
    """A phase's latency curve as :func:`wsframes.analysis.latency_ccdf` gives it (``quantile,
    exceedance, value``) from its values at :data:`CCDF_SPECTRUM` (``headline(spectrum=...)``)."""
    columns = {"quantile": CCDF_SPECTRUM, "value": list(values)}
    curve = pl.DataFrame(columns, schema={"quantile": pl.Float64, "value": pl.Float64})
    return curve.select("quantile", (1 - pl.col("quantile")).alias("exceedance"), "value")


def headline_cards(now: dict[str, Any], before: dict[str, Any] | None) -> list[Card]:
    """Requests, success rate, bandwidth, then p50/p95/p99 per phase, with change vs *before*."""
    cards = [
        Card("requests", f"{now['requests']:,}", *_delta(now, before, "requests", higher_is_good=None)),
        Card("success rate", fmt_pct(now["success_rate"]), *_points(now, before)),
        Card("bandwidth", fmt_bytes(now["bytes"]), *_delta(now, before, "bytes", higher_is_good=None)),
    ]
    for _, phase in PHASES:
        value = " / ".join(fmt_seconds(now[f"{phase}_p{q}"]) for q in (50, 95, 99))
        cards.append(
            Card(f"{phase} p50 / p95 / p99", value, *_delta(now, before, f"{phase}_p95", False, "p95 "))
        )
    return cards


def _delta(
    now: dict[str, Any],
    before: dict[str, Any] | None,
    key: str,
    higher_is_good: bool | None,
    prefix: str = "",
) -> tuple[str | None, bool | None]:
    if before is None or not before.get(key) or now.get(key) is None:
        return None, None
    change = now[key] / before[key] - 1
    good = None if higher_is_good is None or abs(change) < 0.05 else (change > 0) == higher_is_good
    return f"{prefix}{change:+.1%} vs previous period", good


def _points(now: dict[str, Any], before: dict[str, Any] | None) -> tuple[str | None, bool | None]:
    if before is None or before.get("success_rate") is None or now.get("success_rate") is None:
        return None, None
    diff = (now["success_rate"] - before["success_rate"]) * 100
    return f"{diff:+.2f} points vs previous period", None if abs(diff) < 0.5 else diff > 0


def taxonomy_html(taxonomy: pl.DataFrame) -> str:
    """:func:`wsframes.analysis.error_taxonomy` as an escaped table, advice and API text merged."""
    advice = pl.when(pl.col("api_how_to_fix").is_not_null()).then(
        pl.concat_str(pl.col("how_to_fix"), pl.lit(" API says: "), pl.col("api_how_to_fix"))
    )
    shown = taxonomy.select(
        "error_reason",
        "type",
        "category",
        "count",
        "share",
        advice.otherwise(pl.col("how_to_fix")).alias("how_to_fix"),
    )
    return table_html(
        shown,
        formats={"share": "percent", "how_to_fix": "prose"},
        headers={"error_reason": "error code", "share": "share of requests", "how_to_fix": "how to fix"},
        table_id="ws-taxonomy",
    )


def _offenders(frame: pl.LazyFrame, column: str, *, n: int, sort_by: str) -> pl.DataFrame:
    top = collect(top_offenders(frame, by=column, n=n, sort_by=sort_by, metric="request_duration"))
    interval = pl.format(
        "{} – {}", *(pl.col(c).map_elements(fmt_pct, return_dtype=pl.String) for c in ("ci_low", "ci_high"))
    )
    return top.select(
        pl.col(column).cast(pl.String).fill_null("(none)"),
        "requests",
        "failed",
        "error_rate",
        interval.alias("95% interval"),
        pl.col("p95").alias("p95 request"),
        "bytes",
    )


_TOP_FORMATS: dict[str, Format] = {"error_rate": "percent", "p95 request": "seconds", "bytes": "bytes"}
_TOP_HEADERS = {"error_rate": "error rate"}


def top_html(frame: pl.DataFrame | pl.LazyFrame, *, n: int = 10) -> str:
    """Busiest domains, proxies and clients; host names with most failures (all escaped)."""
    frame = frame.lazy()
    residential = bool(collect(frame.select(pl.col("proxy_address").is_null().all())).item())
    proxies = "listen_address" if residential else "proxy_address"
    sections = [
        ("Busiest domains", "domain", "requests"),
        (
            "Busiest gateways (residential plan: no proxy address)" if residential else "Busiest proxies",
            proxies,
            "requests",
        ),
        ("Host names with the most failures", "hostname", "failed"),
        ("Busiest clients (your machines sending through the proxies)", "client_address", "requests"),
    ]
    parts = []
    for title, column, sort_by in sections:
        relay_step(f"top {column}")
        table = _offenders(frame, column, n=n, sort_by=sort_by)
        table_id = f"ws-top-{column.replace('_', '-')}"
        parts += [
            f"<h3>{title}</h3>",
            table_html(table, formats=_TOP_FORMATS, headers=_TOP_HEADERS, table_id=table_id),
        ]
    return "".join(parts)


#: How the standing-problems table names each dimension.
_SEGMENT_LABELS = {
    "domain": "domain",
    "hostname": "host",
    "proxy_address": "proxy",
    "proxy_subnet_24": "/24",
    "proxy_asn": "ASN",
    "proxy_country": "country",
    "client_address": "client",
}


def standing_html(frame: pl.LazyFrame, previous: pl.LazyFrame | None, *, n: int = 10) -> str:
    """Segments far worse than the rest all period (:func:`~wsframes.analysis.standing_problems`)."""
    if not count_rows(frame):  # nothing to rate is not "no problems": say so, not in green
        return "<p>No requests in this period, so there is nothing to rate.</p>"
    found = collect(standing_problems(frame, previous))
    if not found.height:
        return (
            "<p class=ws-ok>No standing problems: no domain, host, proxy, /24 or client fails at least "
            "twice as often as the rest of the pool over the period.</p>"
        )
    was = pl.col("also_previous")
    rate = pl.col("previous_error_rate").map_elements(fmt_pct, return_dtype=pl.String)
    then = pl.format("{} ({})", pl.when(was).then(pl.lit("yes")).otherwise(pl.lit("no")), rate)
    shown = found.head(n).select(
        pl.col("dimension").replace_strict(_SEGMENT_LABELS, default=pl.col("dimension")).alias("what"),
        "value",
        "requests",
        "failed",
        "error_rate",
        "rest_error_rate",
        pl.col("excess_failed").round().cast(pl.Int64),
        "bytes",
        pl.when(was.is_not_null()).then(then).otherwise(pl.lit("–")).alias("also in previous period"),
    )
    table = table_html(
        shown,
        formats={"error_rate": "percent", "rest_error_rate": "percent", "bytes": "bytes"},
        headers={
            "value": "segment",
            "error_rate": "error rate",
            "rest_error_rate": "rest of pool",
            "excess_failed": "excess failures",
        },
        table_id="ws-standing",
    )
    more = found.height - n
    return table + (f"<p>And {more:,} more (standing_problems lists them all).</p>" if more > 0 else "")


def comparison_html(now: dict[str, Any], before: dict[str, Any]) -> str:
    """Headline numbers side by side with the previous period."""
    rows: list[tuple[str, str, str, str]] = [
        ("requests", f"{before['requests']:,}", f"{now['requests']:,}", _change(now, before, "requests")),
        (
            "success rate",
            fmt_pct(before["success_rate"]),
            fmt_pct(now["success_rate"]),
            _rate_points(now["success_rate"], before["success_rate"]),
        ),
        ("bandwidth", fmt_bytes(before["bytes"]), fmt_bytes(now["bytes"]), _change(now, before, "bytes")),
    ]
    for _, phase in PHASES:
        for q in (50, 95, 99):
            key = f"{phase}_p{q}"
            rows.append(
                (f"{phase} p{q}", fmt_seconds(before[key]), fmt_seconds(now[key]), _change(now, before, key))
            )
    return table_html(
        pl.DataFrame(rows, schema=["measure", "previous period", "this period", "change"], orient="row"),
        table_id="ws-comparison",
        align_right=["previous period", "this period", "change"],
    )


def _rate_points(now: float | None, before: float | None) -> str:
    # An empty period has no success rate (None): "–", not a TypeError in the report.
    return "–" if now is None or before is None else f"{(now - before) * 100:+.2f} points"


def _change(now: dict[str, Any], before: dict[str, Any], key: str) -> str:
    return f"{now[key] / before[key] - 1:+.1%}" if before.get(key) and now.get(key) is not None else "–"


def footer_facts(
    data: ReportData,
    *,
    tz: str,
    plan_id: int | None,
    compare_previous: bool,
    anonymize_clients: bool,
    data_path: str | None,
) -> dict[str, str]:
    """Period, zone, source, coverage, row counts, version and parameters (never the key)."""
    cov = data.coverage
    covered = f"{cov.hours_with_data} of {cov.hours} hours have records"
    if cov.first is not None and cov.last is not None:
        covered += f"; first {local(cov.first, tz)}, last {local(cov.last, tz)}"
    facts = {
        "Period": f"{local(data.start, tz)} → {local(data.end, tz)} (half-open: end excluded)",
        "Time zone": tz,
        "Data source": data.source + (f" ({Path(data_path).name})" if data_path else ""),
        "Coverage": covered + ("" if cov.complete else " — " + "; ".join(cov.missing_edges)),
        "Rows": f"{data.coverage.rows:,} in this period"
        + (f", {count_rows(data.previous):,} in the previous one" if data.previous is not None else ""),
        "wsframes version": __version__,
        "Parameters": f"plan_id={plan_id}, tz={tz}, compare_previous={compare_previous}, "
        f"anonymize_clients={anonymize_clients}",
        "Built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return facts


def summary_bundle(
    head: dict[str, Any],
    alerts: list[Alert],
    *,
    period_label: str,
    start: str,
    end: str,
    tz: str,
    plan_id: int | None,
) -> dict[str, Any]:
    """The report's summary as a display bundle the index reads back (not rendered in the HTML)."""
    summary = {
        "period": period_label,
        "start": start,
        "end": end,
        "tz": tz,
        "plan_id": plan_id,
        "requests": head["requests"],
        "success_rate": head["success_rate"],
        "bandwidth_gb": (head["bytes"] or 0) / 1e9,
        "request_p95_s": head["request_p95"],
        "alerts": len(alerts),
        "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    }
    return {SUMMARY_MIME: summary}
