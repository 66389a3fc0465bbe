"""Plots draw what analysis computed: inspected through their artists, never pixels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl
import pytest
from matplotlib.collections import PolyCollection

from wsframes import plots
from wsframes.analysis import error_rate_over_time, error_taxonomy, latency_ccdf, latency_over_time
from wsframes.errors import ConfigurationError
from wsframes.fake import generate_activity

T0 = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def activity() -> pl.DataFrame:
    return generate_activity(4_000, start=T0, end=T0 + timedelta(days=2), seed=3)


def test_ccdf_is_log_log_with_percentile_marks_and_previous(activity: pl.DataFrame) -> None:
    cur = latency_ccdf(activity, metric="request_duration")
    ax = plots.plot_latency_ccdf(cur, label="request", percentiles={"p50": 0.5, "p95": 3.0}, previous=cur)
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert "(s" in ax.get_xlabel() and ax.get_ylabel()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["previous period", "this period", "p50 500 ms", "p95 3 s"]
    this = ax.get_lines()[1]
    assert min(this.get_ydata()) > 0  # zero exceedance (the maximum) cannot sit on a log axis
    assert len(this.get_xdata()) == cur.filter(pl.col("exceedance") > 0).height
    ticks = [ax.yaxis.get_major_formatter()(v) for v in (0.001, 0.0001, 1.0)]
    assert ticks == ["0.1%", "0.01%", "100%"]


def test_ccdf_falls_back_to_current_axes() -> None:
    _fig, ax = plt.subplots()
    frame = pl.DataFrame({"value": [0.1, 1.0], "exceedance": [0.5, 0.01]})
    assert plots.plot_latency_ccdf(frame) is ax


def test_percentiles_over_time_use_the_display_zone(activity: pl.DataFrame) -> None:
    frame = latency_over_time(activity, metric="handshake_duration", every="1h", tz="Asia/Tokyo")
    ax = plots.plot_latency_over_time(frame, label="handshake", tz="Asia/Tokyo")
    assert [line.get_label() for line in ax.get_lines()] == ["p50", "p95", "p99"]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "time (Asia/Tokyo)"
    first = ax.get_lines()[0].get_xdata()[0]
    assert first.utcoffset() == timedelta(hours=9) and first.hour == 9  # 00:00 UTC is 09:00 in Tokyo
    p95 = ax.get_lines()[1].get_ydata()
    shown = [v for v in p95 if v == v]  # NaN: buckets too small for a p95 (all, if most are)
    sparse = frame["p95"].null_count() > frame.height / 2
    assert shown == ([] if sparse else frame["p95"].drop_nulls().to_list())


def test_a_single_bucket_is_drawn_on_hours_not_years(activity: pl.DataFrame) -> None:
    """A period with data in one bucket only (a window that ends just after the data begins)."""
    import matplotlib.dates as mdates

    one = activity.filter(pl.col("timestamp") < T0 + timedelta(hours=1))
    for draw in (
        lambda: plots.plot_latency_over_time(latency_over_time(one, metric="request_duration", every="1h")),
        lambda: plots.plot_error_rate_over_time(error_rate_over_time(one, every="1h")),
    ):
        lo, hi = draw().get_xlim()
        assert timedelta(0) < mdates.num2date(hi) - mdates.num2date(lo) <= timedelta(hours=2)
        plt.close("all")


def test_percentile_lines_break_where_no_request_was_made(activity: pl.DataFrame) -> None:
    """Hours without requests have no row: the line must stop there, not bridge the hole."""
    quiet = (T0 + timedelta(hours=30), T0 + timedelta(hours=36))
    holed = activity.filter(~pl.col("timestamp").is_between(*quiet, closed="left"))
    frame = latency_over_time(holed, metric="handshake_duration", every="1h")
    p50 = plots.plot_latency_over_time(frame).get_lines()[0]
    x, y = list(p50.get_xdata()), list(p50.get_ydata())
    before = max(i for i, t in enumerate(x) if t < quiet[0])
    assert y[before] == y[before] and y[before + 1] != y[before + 1]  # a NaN right after the hole opens
    assert sum(v != v for v in y) == frame["p50"].null_count() + 1  # one break, nothing else invented
    # A day of 25 hours (DST ends in New York on 2026-11-01) is a step, not a hole.
    start, end = datetime(2026, 10, 30, 4, tzinfo=UTC), datetime(2026, 11, 4, 5, tzinfo=UTC)
    autumn = generate_activity(2_000, start=start, end=end, seed=3)
    daily = latency_over_time(autumn, metric="handshake_duration", every="1d", tz="America/New_York")
    line = plots.plot_latency_over_time(daily, tz="America/New_York", ax=plt.subplots()[1]).get_lines()[0]
    assert daily.height == 5 and len(line.get_xdata()) == daily.height
    # A drill-down leaves out buckets too small for its p95: its line breaks there too.
    hours = pl.DataFrame({"time": [T0 + timedelta(hours=h) for h in (0, 1, 2, 7, 8)], "value": [1.0] * 5})
    ax = plots.plot_incident(hours, start=T0, end=None, expected=1.0, label="p95", unit="seconds",
                             ax=plt.subplots()[1])
    assert [v != v for v in ax.get_lines()[0].get_ydata()] == [False, False, False, True, False, False]


def test_taxonomy_bars_sorted_coloured_and_labelled(activity: pl.DataFrame) -> None:
    taxonomy = error_taxonomy(activity)
    ax = plots.plot_error_taxonomy(taxonomy)
    bars = ax.patches
    widths = [b.get_width() for b in bars]
    assert widths == sorted(taxonomy["count"].to_list())  # largest on top (barh draws bottom-up)
    codes = [t.get_text() for t in ax.get_yticklabels()]
    assert codes[-1] == taxonomy["error_reason"][0]
    unknown = codes.index("target_connect_timeout")
    assert matplotlib.colors.to_hex(bars[unknown].get_facecolor()) == plots.TYPE_COLOURS["unknown"]
    assert all(t.get_text().endswith("of requests") for t in ax.texts)
    assert ax.get_xlabel() == "failed requests (count)"


def test_error_rate_has_its_interval_band(activity: pl.DataFrame) -> None:
    frame = error_rate_over_time(activity, every="6h")
    ax = plots.plot_error_rate_over_time(frame)
    assert any(isinstance(c, PolyCollection) for c in ax.collections)
    assert list(ax.get_lines()[0].get_ydata()) == frame["error_rate"].to_list()
    assert ax.yaxis.get_major_formatter()(0.05) == "5.0%"
    assert "%" in ax.get_ylabel()


def test_traffic_has_requests_and_bandwidth_in_gb() -> None:
    frame = pl.DataFrame(
        {"time": [T0, T0 + timedelta(hours=1)], "requests": [10, 20], "failed": [1, 2], "bytes": [2e9, 5e8]},
        schema_overrides={"time": pl.Datetime("us", "UTC")},
    )
    ax = plots.plot_traffic_over_time(frame)
    twin = next(a for a in ax.figure.axes if a is not ax)
    assert list(twin.get_lines()[0].get_ydata()) == [2.0, 0.5]
    assert "GB" in twin.get_ylabel() and "requests" in ax.get_ylabel()


HOSTILE = "bad$\\undefinedmacro{x}$ a_b^c {d} \\\\ $x$\nline\x01\t\x7f"


def _hostile_figures() -> list[plt.Axes]:
    times = [T0 + timedelta(hours=h) for h in range(4)]
    series = pl.DataFrame({"time": times, HOSTILE: [0.1, 0.2, 0.3, 0.4], "value": [0.1, 0.5, 0.2, 0.1]})
    rates = pl.DataFrame({"time": times, "error_rate": [0.1] * 4, "ci_low": [0.0] * 4, "ci_high": [0.2] * 4})
    traffic = pl.DataFrame({"time": times, "requests": [1, 2, 3, 4], "bytes": [1e9] * 4})
    taxonomy = pl.DataFrame(
        {"error_reason": [HOSTILE, "$"], "count": [3, 1], "share": [0.3, 0.1], "type": [HOSTILE, "unknown"]}
    )
    ccdf = pl.DataFrame({"value": [0.01, 0.1, 1.0], "exceedance": [1.0, 0.5, 0.01]})
    draws = {
        "plot_latency_ccdf": lambda ax: plots.plot_latency_ccdf(
            ccdf, label=HOSTILE, percentiles={HOSTILE: 0.1}, ax=ax
        ),
        "plot_latency_over_time": lambda ax: plots.plot_latency_over_time(
            series, quantiles=(HOSTILE,), label=HOSTILE, ax=ax
        ),
        "plot_error_taxonomy": lambda ax: plots.plot_error_taxonomy(taxonomy, ax=ax),
        "plot_error_rate_over_time": lambda ax: plots.plot_error_rate_over_time(rates, ax=ax),
        "plot_traffic_over_time": lambda ax: plots.plot_traffic_over_time(traffic, ax=ax),
        "plot_incident": lambda ax: plots.plot_incident(
            series, start=times[1], end=None, expected=0.1, label=HOSTILE, ax=ax
        ),
    }
    assert sorted(draws) == sorted(plots.__all__)  # a new figure function must join this test
    return [draw(plt.subplots()[1]) for draw in draws.values()]


def test_hostile_data_strings_are_drawn_literally() -> None:
    # An error code like "bad$\undefinedmacro{x}$" once stopped the report in mathtext's parser.
    for ax in _hostile_figures():
        ax.figure.canvas.draw()
        assert all(not t.get_parse_math() for t in ax.findobj(plt.Text) if "$" in t.get_text())
    ccdf, over_time, taxonomy, _rate, _traffic, incident = _hostile_figures()
    assert ccdf.get_title() == f"{HOSTILE} time" and over_time.get_title() == f"{HOSTILE} time percentiles"
    assert HOSTILE in [t.get_text() for t in taxonomy.get_yticklabels()]
    assert f"{HOSTILE} error" in [t.get_text() for t in taxonomy.get_legend().get_texts()]
    assert HOSTILE in [t.get_text() for t in incident.get_legend().get_texts()]


def test_an_unknown_zone_is_a_configuration_error_not_a_zoneinfo_crash() -> None:
    frame = pl.DataFrame({"time": [T0], "error_rate": [0.1]})
    with pytest.raises(ConfigurationError, match="IANA"):
        plots.plot_error_rate_over_time(frame, band=None, tz="Mars/Olympus")
