"""Properties of the synthetic data that loaders, analyses and reports must cope with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from wsframes.errors import ConfigurationError
from wsframes.fake import generate_activity
from wsframes.fake.catalog import HOSTILE_DOMAINS, UNKNOWN_CODE
from wsframes.fake.render import render_timestamps
from wsframes.schema import ACTIVITY_SCHEMA, ERROR_CATALOGUE

START = datetime(2026, 10, 28, tzinfo=UTC)
END = datetime(2026, 11, 4, tzinfo=UTC)


@pytest.fixture(scope="module")
def df() -> pl.DataFrame:
    return generate_activity(20_000, start=START, end=END, seed=42)


@pytest.fixture(scope="module")
def residential() -> pl.DataFrame:
    return generate_activity(3000, start=START, end=END, seed=42, plan_id=2)


def test_deterministic_for_a_seed_and_different_across_seeds_and_plans() -> None:
    a = generate_activity(3000, start=START, end=END, seed=1)
    assert a.equals(generate_activity(3000, start=START, end=END, seed=1))
    assert not a.equals(generate_activity(3000, start=START, end=END, seed=2))
    assert not a.equals(generate_activity(3000, start=START, end=END, seed=1, plan_id=3))


def test_schema_window_and_order(df: pl.DataFrame) -> None:
    assert df.schema == ACTIVITY_SCHEMA
    assert df["timestamp"].is_sorted()
    assert df["timestamp"].min() >= START and df["timestamp"].max() < END


def test_bursts_share_one_microsecond_in_groups_of_2_to_50(df: pl.DataFrame) -> None:
    sizes = df.group_by("timestamp").len()["len"]
    groups = sizes.filter(sizes > 1)
    assert groups.len() > 100
    assert groups.min() == 2 and 20 <= groups.max() <= 50
    assert 0.05 < (groups.sum() / df.height) < 0.25


def test_daily_wave(df: pl.DataFrame) -> None:
    by_hour = df.group_by(pl.col("timestamp").dt.hour().alias("h")).len().sort("h")["len"]
    assert by_hour.max() > 2 * by_hour.min()


def test_durations_are_whole_ms_with_a_heavy_tail_and_add_up(df: pl.DataFrame) -> None:
    for name in ("request_duration", "handshake_duration", "tunnel_duration"):
        ms = df[name].drop_nulls() * 1000
        assert (ms - ms.round()).abs().max() < 1e-6, name
    parts = df["handshake_duration"] + df["tunnel_duration"].fill_null(0)
    assert (df["request_duration"] >= parts - 1e-9).all()
    req = df["request_duration"]
    assert req.quantile(0.999) > 10 * req.median()  # heavy tail


def test_every_known_error_code_and_an_unknown_one(df: pl.DataFrame) -> None:
    codes = set(df["error_reason"].drop_nulls().cast(pl.String))
    assert codes == set(ERROR_CATALOGUE) | {UNKNOWN_CODE}
    assert UNKNOWN_CODE not in ERROR_CATALOGUE
    failed = df["error_reason"].is_not_null().mean()
    assert failed is not None and 0.03 < failed < 0.2
    assert (df["error_reason"].is_null() == df["error_reason_how_to_fix"].is_null()).all()


def test_nulls_follow_the_api(df: pl.DataFrame, residential: pl.DataFrame) -> None:
    code = pl.col("error_reason").cast(pl.String)
    auth = df.filter(pl.col("auth_username").is_not_null())
    assert (auth["error_reason"] == "no_proxies_allocated").all()
    assert auth.height == df.filter(code == "no_proxies_allocated").height
    assert df.filter(pl.col("tunnel_duration").is_null())["error_reason"].is_not_null().all()
    assert df.filter(code == "target_connect_resolve_failed")["ip_address"].is_null().all()
    assert df.filter(pl.col("error_reason").is_null())["proxy_port"].is_not_null().all()
    no_host = df.filter(pl.col("hostname").is_null())
    assert no_host.height > 0 and (no_host["protocol"] == "socks").all()
    assert no_host["domain"].is_null().all()
    assert residential["proxy_address"].is_null().all()
    assert df["proxy_address"].is_not_null().any()
    never_null = ["timestamp", "protocol", "request_duration", "handshake_duration", "bytes",
                  "client_address", "listen_address", "listen_port"]
    assert df.select(pl.col(never_null).null_count()).row(0) == (0,) * len(never_null)


def test_addresses_bytes_and_domains_look_real(df: pl.DataFrame) -> None:
    assert df["client_address"].cast(pl.String).str.contains(":").any()  # IPv6 clients
    assert df["ip_address"].drop_nulls().str.contains(":").any()
    assert df["bytes"].max() > 2**31  # type: ignore[operator]
    assert (df["bytes"] >= 0).all()
    counts = df["domain"].drop_nulls().value_counts(sort=True)["count"]
    assert counts.len() > 1000  # thousands of domains...
    assert counts[0] > 50 * counts.median()  # ...with skewed popularity


def test_hostile_and_overlong_host_names_are_present(df: pl.DataFrame) -> None:
    hosts = set(df["hostname"].drop_nulls())
    assert set(HOSTILE_DOMAINS.values()) <= hosts
    assert max(len(h) for h in hosts) > 253


def test_slow_domains_are_slower_and_fail_more(df: pl.DataFrame) -> None:
    from wsframes.fake.catalog import universe

    slow = pl.col("domain").cast(pl.String).is_in(list(universe().domains[universe().slow])).fill_null(False)
    agg = df.group_by(slow.alias("slow")).agg(
        pl.col("request_duration").filter(pl.col("error_reason").is_null()).median(),
        pl.col("error_reason").is_not_null().mean(),
    ).sort("slow")
    (fast_ms, fast_fail), (slow_ms, slow_fail) = agg.select(
        "request_duration", "error_reason").rows()
    assert slow_ms > 3 * fast_ms and slow_fail > 3 * fast_fail


def test_offsets_change_across_a_dst_transition(df: pl.DataFrame) -> None:
    rendered = render_timestamps(df["timestamp"], "America/Los_Angeles")
    assert set(rendered.str.slice(-6)) == {"-07:00", "-08:00"}
    assert set(render_timestamps(df["timestamp"], "Asia/Kolkata").str.slice(-6)) == {"+05:30"}


def test_small_and_empty_frames_and_bad_windows() -> None:
    assert generate_activity(0, start=START, end=END).schema == ACTIVITY_SCHEMA
    assert generate_activity(5, start=START, end=END).height == 5
    with pytest.raises(ConfigurationError, match="before"):
        generate_activity(10, start=END, end=START)
    with pytest.raises(ConfigurationError, match="n must be"):
        generate_activity(-1)


def test_a_million_rows_are_generated_vectorised() -> None:
    # Not a timing test: the point is that a benchmark-sized frame is cheap enough for CI.
    big = generate_activity(1_000_000, start=START, end=START + timedelta(days=30), seed=9)
    assert big.height == 1_000_000 and big["timestamp"].is_sorted()
