"""Matplotlib figures of what :mod:`wsframes.analysis` computed.

Every function takes the (small, aggregated) frame first, keyword-only options, an optional
``ax`` (default: ``plt.gca()``) and returns the Axes; none calls ``plt.show()``. Axes carry units;
latency is drawn on log scales because proxy latencies span three orders of magnitude. Times are
shown in the ``tz`` given (data stays UTC).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import polars as pl
>>> ccdf = pl.DataFrame({"value": [0.01, 0.1, 1.0], "exceedance": [1.0, 0.5, 0.01]})
>>> ax = plot_latency_ccdf(ccdf, label="request")
>>> ax.get_xscale(), ax.get_yscale(), ax.get_xlabel()
('log', 'log', 'duration (s, log scale)')
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, PercentFormatter

from wsframes.errors import ConfigurationError
from wsframes.timeutil import check_tz

__all__ = [
    "plot_error_rate_over_time",
    "plot_error_taxonomy",
    "plot_incident",
    "plot_latency_ccdf",
    "plot_latency_over_time",
    "plot_traffic_over_time",
]

#: Colours per error type (Webshare's split) and for the unknown codes that need attention.
TYPE_COLOURS: Mapping[str, str] = {"configuration": "#1570ef", "connection": "#dc6803", "unknown": "#b42318"}
_QUANTILE_STYLE = {"p50": ("#1570ef", "-"), "p95": ("#dc6803", "-"), "p99": ("#b42318", "--")}


_P = ParamSpec("_P")


def _literal(draw: Callable[_P, Axes]) -> Callable[_P, Axes]:
    """Draw data strings as typed: a ``$`` in an error code or target name must not start
    mathtext, whose parse errors would stop the whole report (issue 20)."""

    @functools.wraps(draw)
    def literal(*args: _P.args, **kwargs: _P.kwargs) -> Axes:
        with plt.rc_context({"text.parse_math": False, "text.usetex": False}):
            ax = draw(*args, **kwargs)
        for text in ax.findobj(Text):  # texts made before the call (legend entries reused)
            text.set_parse_math(False)
        return ax

    return literal


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.gca()


def _no_data(ax: Axes, title: str) -> Axes:
    """An empty period gets a labelled, empty panel (log scales cannot draw nothing)."""
    ax.text(
        0.5,
        0.5,
        "no requests in this period",
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="#667085",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return ax


def _local_times(frame: pl.DataFrame, column: str, tz: str) -> list[Any]:
    series, zone = frame[column], check_tz(tz)
    if isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone is not None:
        series = series.dt.convert_time_zone(zone.key)
    return series.to_list()


def _time_axis(ax: Axes, tz: str) -> None:
    zone = check_tz(tz)
    locator = mdates.AutoDateLocator(tz=zone, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
    lo, hi = ax.dataLim.intervalx
    if lo == hi:  # one bucket: matplotlib would span years around it; an hour either side
        ax.set_xlim(lo - 1 / 24, hi + 1 / 24)
    ax.set_xlabel(f"time ({tz})")
    ax.grid(True, axis="y", alpha=0.3)


def _seconds_label(value: float, _pos: Any = None) -> str:
    # Three significant digits: tick values stay exact (100 ms, 1 s), marks stay short (3.97 s).
    if value >= 1:
        return f"{float(f'{value:.3g}'):g} s"
    return f"{float(f'{value * 1000:.3g}'):g} ms"


def _bytes_label(value: float, _pos: Any = None) -> str:
    """Bytes in decimal units, as the report's tables write them."""
    from wsframes.report.render import fmt_bytes  # at draw time: import wsframes.plots stays light

    return fmt_bytes(value)


def _share_label(value: float, _pos: Any = None) -> str:
    # Log-scale shares need their decimals: 0.1% and 0.01% must not both read "0%".
    return f"{float(f'{value * 100:.2g}'):g}%"


@_literal
def plot_latency_ccdf(
    ccdf: pl.DataFrame,
    *,
    x: str = "value",
    y: str = "exceedance",
    label: str | None = None,
    percentiles: Mapping[str, float] | None = None,
    previous: pl.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Share of requests slower than each duration (complementary CDF), log-log.

    *ccdf* is what :func:`wsframes.analysis.latency_ccdf` returns (``value`` in seconds and
    ``exceedance``, the share slower than it); points with zero exceedance or duration cannot be
    drawn on log scales and are left out. A straight fall means a heavy tail; a curve shifted
    right means a slower phase. *percentiles* (e.g. ``{"p50": 0.04, "p95": 0.3}``) are marked
    as vertical lines; *previous* (same columns) is drawn in grey for comparison.
    """
    ax = _axes(ax)
    drawable = (pl.col(x) > 0) & (pl.col(y) > 0)
    if ccdf.filter(drawable).is_empty():
        return _no_data(ax, f"{label} time" if label else "")
    if previous is not None and previous.height:
        old = previous.filter(drawable)
        ax.plot(old[x], old[y], color="#98a2b3", lw=1.4, label="previous period")
    cur = ccdf.filter(drawable)
    ax.plot(cur[x], cur[y], color="#1d2939", lw=1.8, label="this period")
    for name, value in (percentiles or {}).items():
        colour, style = _QUANTILE_STYLE.get(name, ("#667085", ":"))
        ax.axvline(value, color=colour, ls=style, lw=1, label=f"{name} {_seconds_label(value)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_seconds_label))
    ax.yaxis.set_major_formatter(FuncFormatter(_share_label))
    ax.set_xlabel("duration (s, log scale)")
    ax.set_ylabel("requests slower than this (log scale)")
    if label:
        ax.set_title(f"{label} time")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")  # the curve runs from top left to bottom right
    return ax


def _break_at_gaps(frame: pl.DataFrame, time: str, columns: Sequence[str]) -> pl.DataFrame:
    """*frame* with an empty row after each bucket followed by a gap (buckets with no requests
    have no row), so a line breaks there instead of bridging it. A gap is a step over 1.5x the
    usual one (so a 23-hour day at a DST change is no gap)."""
    step = frame[time].diff()
    usual = step.median()
    if usual is None:
        return frame
    after_gap = frame.filter((step > usual * 1.5).shift(-1, fill_value=False))  # type: ignore[operator]
    blanks = after_gap.with_columns(pl.col(time) + usual, *(pl.lit(None).alias(c) for c in columns))
    return pl.concat([frame, blanks], how="vertical_relaxed").sort(time)


@_literal
def plot_latency_over_time(
    frame: pl.DataFrame,
    *,
    time: str = "time",
    quantiles: Sequence[str] = ("p50", "p95", "p99"),
    label: str | None = None,
    tz: str = "UTC",
    ax: Axes | None = None,
) -> Axes:
    """Latency percentiles per time bucket (one line each), log scale."""
    ax = _axes(ax)
    if frame.filter(pl.any_horizontal(pl.col(q) > 0 for q in quantiles)).is_empty():
        return _no_data(ax, f"{label} time percentiles" if label else "")
    counted, frame = frame, _break_at_gaps(frame.sort(time), time, quantiles)
    times = _local_times(frame, time, tz)
    # Buckets too small to hold a quantile are null (latency_over_time): gaps, not invented points;
    # a quantile missing from most buckets would only be scattered fragments, so it is not drawn.
    sparse = [q for q in quantiles if counted[q].null_count() > counted.height / 2]
    for q in quantiles:
        colour, style = _QUANTILE_STYLE.get(q, ("#667085", ":"))
        values = frame[q].cast(pl.Float64).fill_null(float("nan")).to_list()
        if q in sparse:
            values = [float("nan")] * len(values)
        marker = "." if len(times) < 60 else None
        ax.plot(times, values, color=colour, ls=style, lw=1.4, label=q, marker=marker)
    gappy = [q for q in quantiles if counted[q].null_count() and q not in sparse]
    notes = [f"{', '.join(sparse)} not drawn: most buckets hold too few requests"] if sparse else []
    notes += [f"{', '.join(gappy)} left out where a bucket holds too few requests"] if gappy else []
    if notes:
        ax.text(
            0.99,
            0.02,
            "; ".join(notes),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="#667085",
        )
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(_seconds_label))
    ax.set_ylabel("duration (s, log scale)")
    if label:
        ax.set_title(f"{label} time percentiles")
    _time_axis(ax, tz)
    ax.legend(fontsize=8, loc="upper left", ncols=len(quantiles))
    return ax


@_literal
def plot_error_taxonomy(
    taxonomy: pl.DataFrame,
    *,
    label: str = "error_reason",
    count: str = "count",
    share: str = "share",
    kind: str = "type",
    top: int = 12,
    ax: Axes | None = None,
) -> Axes:
    """Failed requests per error code, largest first, coloured by type, labelled with their share.

    *share* is the fraction of all requests in the period; unknown codes are drawn in red.
    """
    ax = _axes(ax)
    rows = taxonomy.sort(count, descending=True).head(top).reverse()
    labels = [str(v) for v in rows[label].to_list()]
    colours = [TYPE_COLOURS.get(str(t), "#667085") for t in rows[kind].to_list()]
    bars = ax.barh(range(rows.height), rows[count].to_list(), color=colours)
    ax.set_yticks(range(rows.height), labels, fontsize=9)
    for bar, fraction in zip(bars, rows[share].to_list(), strict=True):
        ax.annotate(
            f" {fraction:.2%} of requests",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            va="center",
            fontsize=8,
        )
    ax.set_xlabel("failed requests (count)")
    ax.set_xlim(0, max([b.get_width() for b in bars], default=1) * 1.3)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.grid(True, axis="x", alpha=0.3)
    used = dict.fromkeys(str(t) for t in rows[kind].to_list())
    handles = [Rectangle((0, 0), 1, 1, color=TYPE_COLOURS.get(t, "#667085")) for t in used]
    ax.legend(handles, [f"{t} error" for t in used], fontsize=8, loc="lower right")
    ax.set_title("failed requests by error code")
    return ax


@_literal
def plot_error_rate_over_time(
    frame: pl.DataFrame,
    *,
    time: str = "time",
    rate: str = "error_rate",
    band: tuple[str, str] | None = ("ci_low", "ci_high"),
    tz: str = "UTC",
    ax: Axes | None = None,
) -> Axes:
    """Error rate per time bucket, with its confidence interval as a band.

    *frame* is what :func:`wsframes.analysis.error_rate_over_time` returns; a wide band means
    few requests in that bucket, so a spike inside a wide band may be noise.
    """
    ax = _axes(ax)
    if frame.is_empty():
        return _no_data(ax, "error rate over time")
    times = _local_times(frame, time, tz)
    if band is not None and all(c in frame.columns for c in band):
        ax.fill_between(
            times,
            frame[band[0]].to_list(),
            frame[band[1]].to_list(),
            color="#fda29b",
            alpha=0.45,
            lw=0,
            label="95% interval",
        )
    ax.plot(times, frame[rate].to_list(), color="#b42318", lw=1.4, label="error rate")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("failed requests (% of requests)")
    _time_axis(ax, tz)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("error rate over time")
    return ax


@_literal
def plot_traffic_over_time(
    frame: pl.DataFrame,
    *,
    time: str = "time",
    requests: str = "requests",
    bytes_: str = "bytes",
    tz: str = "UTC",
    ax: Axes | None = None,
) -> Axes:
    """Requests per bucket (filled area) and bandwidth (line, GB, right axis)."""
    ax = _axes(ax)
    if frame.is_empty():
        return _no_data(ax, "traffic over time")
    times = _local_times(frame, time, tz)
    ax.fill_between(
        times, frame[requests].to_list(), step="post", color="#84caff", alpha=0.7, label="requests"
    )
    ax.set_ylim(bottom=0)
    ax.set_ylabel("requests per bucket")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    _time_axis(ax, tz)
    twin = ax.twinx()
    # A plain line: single multi-GB transfers make tall, narrow spikes that steps draw as boxes.
    twin.plot(times, (frame[bytes_] / 1e9).to_list(), color="#1d2939", lw=1, label="bandwidth")
    twin.set_ylim(bottom=0)
    twin.set_ylabel("bandwidth per bucket (GB)")
    lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(lines, ["requests", "bandwidth (GB)"], fontsize=8, loc="upper left")
    ax.set_title("traffic over time")
    return ax


@_literal
def plot_incident(
    frame: pl.DataFrame,
    *,
    start: Any,
    end: Any | None,
    expected: float | None,
    label: str,
    unit: str = "share",
    tz: str = "UTC",
    ax: Axes | None = None,
) -> Axes:
    """One incident's drill-down: the segment's metric per bucket (``time``, ``value``) around it.

    The incident's window is shaded and the usual level is a dashed line (*expected*, or the
    frame's ``usual`` column where it follows the time of day), so a reader sees at a glance how
    far and how long the segment left its normal. *unit* is ``"share"``, ``"seconds"``,
    ``"requests"`` or ``"bytes"``. Buckets with too few requests to hold the metric are absent
    from *frame* (gaps in the line, not invented points).
    """
    ax = _axes(ax)
    if frame.is_empty():
        return _no_data(ax, label)
    drawn = [c for c in ("value", "usual") if c in frame.columns]
    frame = _break_at_gaps(frame.sort("time"), "time", drawn)
    times = _local_times(frame, "time", tz)
    values = {c: frame[c].cast(pl.Float64).fill_null(float("nan")).to_list() for c in drawn}
    ax.plot(times, values["value"], color="#b42318", lw=1.4, marker=".", ms=4, label=label)
    if "usual" in values:
        ax.plot(times, values["usual"], color="#667085", ls="--", lw=1, label="usual")
    elif expected is not None:
        ax.axhline(expected, color="#667085", ls="--", lw=1, label="usual")
    zone = check_tz(tz)
    latest: Any = frame["time"].max()
    top: Any = frame.select(pl.max_horizontal(pl.col(drawn).cast(pl.Float64).fill_nan(None).max())).item()
    shade_end = end if end is not None else latest
    ax.axvspan(start.astimezone(zone), shade_end.astimezone(zone), color="#fee4e2", alpha=0.8, lw=0)
    formats = {"share": PercentFormatter(1.0, decimals=0), "seconds": FuncFormatter(_seconds_label),
               "requests": FuncFormatter(lambda v, _p: f"{v:,.0f}"), "bytes": FuncFormatter(_bytes_label)}
    if unit not in formats:
        raise ConfigurationError(f"unit must be one of {', '.join(formats)}, not {unit!r}.")
    ax.yaxis.set_major_formatter(formats[unit])
    ax.set_ylim(0, max(1e-3, float(top or 0), expected or 0) * 1.1)
    ax.set_ylabel({"share": "share of requests", "requests": "requests per hour",
                   "bytes": "bytes per hour"}.get(unit, unit))
    _time_axis(ax, tz)
    ax.legend(fontsize=8, loc="upper left", ncols=2)
    return ax
