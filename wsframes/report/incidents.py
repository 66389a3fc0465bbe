"""Incidents as alerts: one plain sentence each (what, where, since when, how big, what to do)
and a small drill-down figure, from :func:`wsframes.analysis.find_incidents`.

Host names, codes and advice come from the data: they are escaped when rendered, never here.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import polars as pl

from wsframes.analysis.incidents import AND, find_incidents
from wsframes.analysis.incidents._cells import with_derived
from wsframes.report.data import collect, count_rows
from wsframes.report.render import fmt_bytes, local

__all__ = ["MINOR_REQUESTS", "MIN_P95_REQUESTS", "drilldown_png", "incident_alerts"]

#: Incidents touching fewer requests than this are ``info``: real, but small.
MINOR_REQUESTS = 20
#: A p95 drawn in the drill-down needs this many requests in its bucket (else the point is left out).
MIN_P95_REQUESTS = 20

_WHERE = {
    "domain": "to {v}",
    "hostname": "to {v}",
    "listen_address": "through proxy server {v}",
    "listen_port": "through proxy port {v}",
    "proxy_address": "leaving through proxy {v}",
    "proxy_net": "through the proxies of {v}",
    "client_address": "from client {v}",
    "port": "to target port {v}",
    "protocol": "over {v}",
    "plan_id": "on plan {v}",
    "subuser_id": "by sub-user {v}",
    "proxy_asn": "through the proxies of network AS{v}",
    "proxy_country": "through the proxies in {v}",
    "all": "",
}
_TARGET_SLOW = "The target itself answers slowly: send it fewer requests at once, or retry with back-off."
_LATENCY_ADVICE = {
    "domain": _TARGET_SLOW,
    "hostname": _TARGET_SLOW,
    "listen_address": "Move traffic off this proxy server (replace it in your proxy list) and tell "
    "Webshare support.",
    "proxy_address": "Replace this proxy in your list, or ask Webshare support about it.",
    "proxy_net": "The whole subnet is slow: spread traffic over other proxies and tell Webshare support.",
    "proxy_asn": "That network is slow: move traffic to proxies of other networks and tell Webshare support.",
    "proxy_country": "Proxies in that country are slow: use another location if your targets allow it.",
    "client_address": "Check that machine: its network or its load, not the proxies, is the likely cause.",
}
_DROP_ADVICE = (
    "Check that the jobs sending these requests still run (a stopped scheduler, a blocked or "
    "throttled client) and that the target still accepts them."
)
_SURGE_ADVICE = (
    "Bandwidth is billed: check which job downloads more (larger pages, a new job, a loop "
    "fetching the same files) and stop it if it is not meant to."
)
_GENERIC_ADVICE = (
    "Check the Webshare status page and your own network; if it persists, contact Webshare support."
)


def incident_alerts(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    baseline: pl.DataFrame | pl.LazyFrame | None = None,
    tz: str = "UTC",
    p95: Mapping[str, float | None] | None = None,
) -> list[dict[str, Any]]:
    """Incidents of *frame* as alert fields: ``level``, ``title``, ``detail`` and the ``incident`` row.
    *p95*: the reference's p95 of each phase, when known (:func:`find_incidents`).

    Traffic gaps are left to :mod:`wsframes.report.gaps` (the window's own coverage rule).
    """
    if not count_rows(frame):
        return []
    reference = baseline.lazy() if baseline is not None and count_rows(baseline) else None
    compared = reference is not None
    found = collect(find_incidents(frame.lazy(), baseline=reference, tz=tz, p95=p95))
    out = []
    for row in found.filter(pl.col("kind") != "traffic_gap").iter_rows(named=True):
        level, title, detail = _sentence(row, tz, compared=compared)
        out.append({"level": level, "title": title, "detail": detail, "incident": row})
    return out


def _when(row: dict[str, Any], tz: str) -> str:
    if row["end"] is None:
        return f"since {local(row['start'], tz)} (still going on at the end of the data)"
    return f"from {local(row['start'], tz)} to {local(row['end'], tz)}"


def _where(row: dict[str, Any]) -> str:
    # A conjunction reads as both places: "to shop.example.org from client 203.0.113.10".
    parts = zip(row["dimension"].split(AND), row["value"].split(AND), strict=True)
    return " ".join(_WHERE.get(d, "where {d} = {v}").format(v=v, d=d) for d, v in parts)


def _segment(dim: str, value: str) -> pl.Expr:
    """Rows of the incident's segment (the whole account for ``all`` and error codes)."""
    if dim in ("all", "error_reason"):
        return pl.lit(True)
    parts = zip(dim.split(AND), value.split(AND), strict=True)
    return pl.all_horizontal([pl.col(d).cast(pl.String) == v for d, v in parts])


def _sentence(row: dict[str, Any], tz: str, *, compared: bool) -> tuple[str, str, str]:
    when, where, usual = _when(row, tz), _where(row), "the previous period" if compared else "usual"
    if row["kind"] == "new_error_code":
        before = "in the previous period or " if compared else ""
        return (
            "warning",
            "New error code",
            f"{row['value']} appeared {when.replace('from', 'on', 1) if row['end'] else when}, never seen "
            f"{before}before that in this period: {row['requests_affected']:,} failed requests. "
            f"{row['how_to_fix'] or _GENERIC_ADVICE}",
        )
    if row["kind"] in ("volume_drop", "bandwidth_surge"):  # usual: these hours on both periods' days
        usual = "usual"
    if row["kind"] == "volume_drop":
        share = row["observed"] / row["expected"] if row["expected"] else 0.0
        return (
            "critical" if row["dimension"] == "all" else "warning",
            "Fewer requests",
            f"Requests {where or 'of the whole account'} fell to {share:.0%} of {usual} {when}: "
            f"{row['requests']:,} requests where about {row['expected']:,.0f} were expected at "
            f"these hours. {_DROP_ADVICE}",
        )
    if row["kind"] == "bandwidth_surge":
        return (
            "warning",
            "More bandwidth",
            f"Bytes {where or 'of the whole account'} rose {row['observed'] / row['expected']:.1f}x {when} "
            f"({usual}: {fmt_bytes(row['expected'])} at these hours, now about {fmt_bytes(row['observed'])}) "
            f"over {row['requests']:,} requests. {_SURGE_ADVICE}",
        )
    if row["kind"] == "latency_regression":
        phase = _phase(row)
        times = f"{row['observed'] / row['expected']:.1f}x as long" if row["expected"] else "longer"
        return (
            "warning" if row["requests_affected"] >= MINOR_REQUESTS else "info",
            f"Slower {phase}s",
            f"{phase.capitalize()}s {where or 'of the whole account'} take {times} {when}: p95 {phase} "
            f"time {row['observed']:.2f} s ({usual}: {row['expected']:.2f} s); {row['requests_affected']:,} "
            f"more slow {phase}s than usual out of {row['requests']:,} requests. "
            f"{_LATENCY_ADVICE.get(row['dimension'], _GENERIC_ADVICE)}",
        )
    code = row["error_reason"]
    if row["dimension"] == "error_reason":
        what = f"{row['observed']:.0%} of all requests failed with {code}"
    else:
        with_code = f" (mostly {code})" if code else ""
        what = f"{row['observed']:.0%} of requests {where or 'of the whole account'} failed{with_code}"
    level = "critical" if row["dimension"] in ("all", "error_reason") or row["observed"] >= 0.5 else "warning"
    level = "info" if row["requests_affected"] < MINOR_REQUESTS else level
    return (
        level,
        "Error burst",
        f"{what} {when} ({usual}: {row['expected']:.0%}); {row['requests_affected']:,} more failed requests "
        f"than usual out of {row['requests']:,}. {row['how_to_fix'] or _GENERIC_ADVICE}",
    )


def _phase(row: dict[str, Any]) -> str:
    """The latency phase an incident is about: ``handshake``, ``tunnel`` or ``request``."""
    return str(row["metric"]).removesuffix("_duration_p95")


def _context(
    frame: pl.DataFrame | pl.LazyFrame, row: dict[str, Any]
) -> tuple[pl.DataFrame, float | None, str, str]:
    """The segment's metric per bucket from half a day (or the incident's length) before to after it.

    A p95 needs :data:`MIN_P95_REQUESTS` per bucket: for a small segment the buckets widen (1, 3,
    6, 24 hours) until most of them hold that many, and smaller ones are left out.
    """
    frame = with_derived(frame.lazy())  # a segment may be a derived column (proxy_net)
    span = (row["end"] or collect(frame.select(pl.col("timestamp").max())).item()) - row["start"]
    pad = max(timedelta(hours=12), span)
    inside = pl.col("timestamp").is_between(row["start"] - pad, (row["end"] or row["start"]) + pad)
    dim, value = row["dimension"], row["value"]
    seg = _segment(dim, value)
    rows = frame.filter(inside & seg)
    if row["kind"] in _VOLUME:
        return _volume_context(frame, seg, row, row["start"] - pad, (row["end"] or row["start"]) + pad)
    if row["kind"] == "latency_regression":
        for hours in (1, 3, 6, 24):
            out = collect(rows.group_by(pl.col("timestamp").dt.truncate(f"{hours}h").alias("time")).agg(
                pl.len().alias("n"), pl.col(f"{_phase(row)}_duration").quantile(0.95).alias("value")
            ))
            typical: Any = out["n"].median()
            if (typical or 0) >= MIN_P95_REQUESTS:
                break
        label = f"p95 {_phase(row)} time" + (f" per {hours} h" if hours > 1 else "")
        return out.filter(pl.col("n") >= MIN_P95_REQUESTS).sort("time"), row["expected"], label, "seconds"
    part = rows.group_by(pl.col("timestamp").dt.truncate("1h").alias("time"))
    if dim == "error_reason":  # that code's share of every request (a success is not that code)
        failed = (pl.col("error_reason").cast(pl.String) == value).fill_null(False)
    else:
        failed = pl.col("error_reason").is_not_null()
    out = collect(part.agg(failed.mean().alias("value")).sort("time"))
    label = "share failing with this code" if dim == "error_reason" else "share of requests failed"
    return out, row["expected"], label, "share"


#: Volume kinds: what their drill-down counts per hour, and its unit.
_VOLUME = {"volume_drop": (pl.len(), "requests"), "bandwidth_surge": (pl.col("bytes").sum(), "bytes")}


def _volume_context(frame: pl.LazyFrame, seg: pl.Expr, row: dict[str, Any], lo: Any, hi: Any
                    ) -> tuple[pl.DataFrame, float | None, str, str]:
    """Requests (or bytes) per hour around the incident, against the usual for that hour of day:
    the median of the same hour on the period's other days, outside the incident."""
    measure, unit = _VOLUME[row["kind"]]
    hourly = collect(frame.filter(seg).group_by(pl.col("timestamp").dt.truncate("1h").alias("time"))
                     .agg(measure.cast(pl.Float64).alias("value")))
    during = pl.col("time").is_between(row["start"], row["end"] or hourly["time"].max())
    hour = pl.col("time").dt.hour().alias("hour")
    usual = hourly.filter(~during).group_by(hour).agg(pl.col("value").median().alias("usual"))
    shown = hourly.filter(pl.col("time").is_between(lo, hi)).with_columns(hour)
    return shown.join(usual, on="hour", how="left").drop("hour").sort("time"), None, f"{unit} per hour", unit


def drilldown_png(frame: pl.DataFrame | pl.LazyFrame, incident: dict[str, Any], *, tz: str = "UTC") -> str:
    """The incident's drill-down figure as a base64 PNG (small enough to sit beside its sentence)."""
    import matplotlib.pyplot as plt

    from wsframes.plots import plot_incident

    data, expected, label, unit = _context(frame, incident)
    fig, ax = plt.subplots(figsize=(7.5, 2.1), dpi=80)
    plot_incident(
        data,
        start=incident["start"],
        end=incident["end"],
        expected=expected,
        label=label,
        unit=unit,
        tz=tz,
        ax=ax,
    )
    if unit == "seconds":
        ax.set_title(
            f"buckets with fewer than {MIN_P95_REQUESTS} requests are left out", fontsize=8, loc="right"
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
