"""Volume incidents: a drop in requests and a surge in bytes, found where and when they happened."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from wsframes.analysis import find_incidents
from wsframes.errors import ConfigurationError
from wsframes.fake import Incident, generate_activity
from wsframes.report.incidents import incident_alerts

T0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
AT = T0 + timedelta(days=3, hours=5)
VOLUME = ("volume_drop", "bandwidth_surge")


def _week(seed: int, incidents: tuple[Incident, ...] = (), *, n: int = 50_000, days: int = 7) -> pl.DataFrame:
    """~300 requests an hour."""
    return generate_activity(n, start=T0, end=T0 + timedelta(days=days), seed=seed, incidents=incidents)


def _top(df: pl.DataFrame, column: str, rank: int) -> str:
    counts = df.group_by(pl.col(column).cast(pl.String)).len().drop_nulls()
    counts = counts.sort(["len", column], descending=True)
    return str(counts[column][rank])


def _only(found: pl.DataFrame, kind: str) -> dict[str, object]:
    assert found["kind"].to_list() == [kind], found  # the planted change and nothing else
    return found.row(0, named=True)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(("dimension", "rank"), [(None, 0), ("client_address", 1), ("domain", 0)])
def test_volume_drop_is_found_with_its_segment_and_start(dimension: str | None, rank: int, seed: int) -> None:
    """Traffic to 30-40% for 12 hours: the account, a client of ~40 an hour, a domain of ~40."""
    value = None if dimension is None else _top(_week(seed), dimension, rank)
    inc = Incident("volume_drop", AT, hours=12, dimension=dimension, value=value, size=0.65)
    row = _only(find_incidents(_week(seed, (inc,))), "volume_drop")
    assert (row["dimension"], row["value"]) == (dimension or "all", value or "all")
    assert abs(row["start"] - AT) <= HOUR and abs(row["end"] - inc.end) <= HOUR  # type: ignore[operator]
    assert 0.2 <= row["observed"] / row["expected"] <= 0.5  # type: ignore[operator]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bandwidth_surge_of_the_account_is_found(seed: int) -> None:
    inc = Incident("bandwidth_surge", AT, hours=12, size=3.0)
    row = _only(find_incidents(_week(seed, (inc,))), "bandwidth_surge")
    assert (row["dimension"], row["value"]) == ("all", "all")
    assert abs(row["start"] - AT) <= HOUR and abs(row["end"] - inc.end) <= HOUR  # type: ignore[operator]
    # The typical bucket's rise, not the sum a few huge downloads can dominate.
    assert 2.5 <= row["observed"] / row["expected"] <= 3.6  # type: ignore[operator]


def test_bandwidth_surge_of_a_busy_client_is_found() -> None:
    base = _week(4, n=300_000)  # the top client carries ~800 requests an hour
    client = _top(base, "client_address", 0)
    inc = Incident("bandwidth_surge", AT, hours=12, dimension="client_address", value=client, size=3.0)
    row = _only(find_incidents(_week(4, (inc,), n=300_000)), "bandwidth_surge")
    assert (row["dimension"], row["value"]) == ("client_address", client)
    assert abs(row["start"] - AT) <= HOUR


@pytest.mark.parametrize(
    "inc",
    [
        Incident("volume_drop", AT, hours=24, size=0.3),  # to 70%: under the minimum effect
        Incident("bandwidth_surge", AT, hours=24, size=1.5),  # 1.5x: under the minimum effect
        Incident("volume_drop", AT, hours=2, size=0.8),  # to 20% but for two hours only
    ],
    ids=["drop-to-70%", "surge-1.5x", "two-hours"],
)
def test_changes_under_the_minimum_effect_are_not_alerted(inc: Incident) -> None:
    found = find_incidents(_week(5, (inc,)))
    assert found.filter(pl.col("kind").is_in(VOLUME)).is_empty(), found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quiet_weekends_and_a_previous_period_raise_nothing(seed: int) -> None:
    """Two weeks whose weekends carry half the traffic, with the two weeks before as baseline."""
    df = _week(seed, n=160_000, days=28)
    weekend = df["timestamp"].dt.weekday() >= 6
    df = df.filter(~weekend | pl.Series(np.random.default_rng(seed).random(df.height) < 0.5))
    start = T0 + timedelta(days=14)
    now, before = df.filter(pl.col("timestamp") >= start), df.filter(pl.col("timestamp") < start)
    assert find_incidents(now, baseline=before).filter(pl.col("kind").is_in(VOLUME)).is_empty()
    assert find_incidents(now).filter(pl.col("kind").is_in(VOLUME)).is_empty()


def test_alert_sentences_are_plain_and_exact() -> None:
    client = _top(_week(1), "client_address", 1)
    drop = Incident("volume_drop", AT, hours=12, dimension="client_address", value=client, size=0.65)
    surge = Incident("bandwidth_surge", AT - timedelta(days=2), hours=12, size=3.0)  # a weekday too
    alerts = {a["incident"]["kind"]: a for a in incident_alerts(_week(1, (drop, surge)))}
    fell = alerts["volume_drop"]
    assert fell["title"] == "Fewer requests" and fell["level"] == "warning"
    said = rf"^Requests from client {re.escape(client)} fell to (\d+)% of usual from "
    share = re.search(said, fell["detail"])
    row = fell["incident"]
    assert share and int(share[1]) == round(100 * row["observed"] / row["expected"]), fell["detail"]
    assert f"{row['requests']:,} requests where about {row['expected']:,.0f} were expected" in fell["detail"]
    rose = alerts["bandwidth_surge"]
    said = r"^Bytes of the whole account rose (\d\.\d)x from 2026-11-03 05:00 UTC to "
    times = re.search(said, rose["detail"])
    row = rose["incident"]
    assert times and times[1] == f"{row['observed'] / row['expected']:.1f}", rose["detail"]


def test_the_fake_plants_both_kinds_in_their_window_only() -> None:
    drop = Incident("volume_drop", AT, hours=6, size=0.7)
    surge = Incident("bandwidth_surge", AT + timedelta(days=1), hours=6, size=3.0)
    before, after = _week(2), _week(2, (drop, surge))

    def inside(df: pl.DataFrame, inc: Incident) -> pl.DataFrame:
        return df.filter(pl.col("timestamp").is_between(inc.start, inc.end, closed="left"))

    kept = inside(after, drop).height / inside(before, drop).height
    assert 0.25 <= kept <= 0.35
    grown = inside(after, surge)["bytes"].sum() / inside(before, surge)["bytes"].sum()
    assert grown == pytest.approx(3, rel=1e-6)
    outside = ~pl.col("timestamp").is_between(drop.start, surge.end, closed="left")
    assert after.filter(outside).equals(before.filter(outside))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_over_dispersed_hourly_volume_raises_nothing(seed: int) -> None:
    """Each hour keeps a share of its requests drawn from Beta(2, 1) (mean 67%, a quarter of the
    hours under half): hourly volume far more variable than Poisson, with nothing sustained."""
    df = _week(seed, n=100_000, days=14)
    hour = df["timestamp"].dt.truncate("1h").rank("dense").to_numpy() - 1
    rng = np.random.default_rng(seed)
    keep = rng.beta(2, 1, size=int(hour.max()) + 1)[hour]
    df = df.filter(pl.Series(rng.random(df.height) < keep))
    assert find_incidents(df).filter(pl.col("kind").is_in(VOLUME)).is_empty()


def test_drilldowns_draw_the_hours_against_their_usual() -> None:
    """A drop's figure: requests per hour fall below the usual for those hours inside the window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wsframes.plots import plot_incident
    from wsframes.report.incidents import _context, drilldown_png

    client = _top(_week(1), "client_address", 1)
    drop = Incident("volume_drop", AT, hours=12, dimension="client_address", value=client, size=0.65)
    surge = Incident("bandwidth_surge", AT - timedelta(days=2), hours=12, size=3.0)
    df = _week(1, (drop, surge))
    found = {r["kind"]: r for r in find_incidents(df).iter_rows(named=True)}
    data, expected, label, unit = _context(df, found["volume_drop"])
    assert (expected, label, unit) == (None, "requests per hour", "requests")
    inside = data.filter(pl.col("time").is_between(drop.start, drop.end, closed="left"))
    assert inside.height == 12 and (inside["value"] < 0.6 * inside["usual"]).all()
    ax = plot_incident(data, start=drop.start, end=drop.end, expected=expected, label=label, unit=unit,
                       ax=plt.subplots()[1])
    assert [line.get_label() for line in ax.get_lines()] == [label, "usual"]
    data, _, label, unit = _context(df, found["bandwidth_surge"])
    assert unit == "bytes" and data["value"].max() > 2 * data["usual"].max()  # type: ignore[operator]
    assert drilldown_png(df, found["bandwidth_surge"]).startswith("iVBOR")
    with pytest.raises(ConfigurationError, match="unit must be one of"):
        plot_incident(data, start=drop.start, end=None, expected=None, label=label, unit="furlongs")
    plt.close("all")
