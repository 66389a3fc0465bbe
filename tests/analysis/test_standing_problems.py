"""standing_problems: what is chronically bad, whether or not it changed (issue 18 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from wsframes.analysis import enrich, standing_problems
from wsframes.errors import ConfigurationError
from wsframes.fake import generate_activity

END = datetime(2026, 11, 26, tzinfo=UTC)
CODE = "target_connect_unknown_error"


def _healthy(seed: int, *, start: datetime, records: int = 20_000, rate: float = 0.06) -> pl.DataFrame:
    """A week where every request fails independently with the same chance: no segment is worse."""
    df = generate_activity(records, start=start, end=start + timedelta(days=7), seed=seed)
    failed = np.random.default_rng(seed).random(df.height) < rate
    code = pl.when(pl.Series(failed)).then(pl.lit(CODE)).cast(df.schema["error_reason"])
    return df.with_columns(code.alias("error_reason"))


def _fail(df: pl.DataFrame, where: pl.Expr, rate: float, seed: int) -> pl.DataFrame:
    """*df* with a share *rate* of the rows matching *where* failed (the others as they were)."""
    hit = pl.Series(np.random.default_rng(seed).random(df.height) < rate)
    code = pl.when(where & hit).then(pl.lit(CODE)).otherwise(pl.col("error_reason").cast(pl.String))
    return df.with_columns(code.cast(df.schema["error_reason"]).alias("error_reason"))


def _domain_of_rank(df: pl.DataFrame, rank: int) -> str:
    return str(df["domain"].cast(pl.String).drop_nulls().value_counts(sort=True)["domain"][rank])


@pytest.fixture(scope="module")
def weeks() -> tuple[pl.DataFrame, pl.DataFrame, str, str]:
    """Previous and current week; one domain fails ~45% in both, another only in the current one."""
    prev = _healthy(1, start=END - timedelta(days=14))
    cur = _healthy(2, start=END - timedelta(days=7))
    chronic, new = _domain_of_rank(cur, 3), _domain_of_rank(cur, 4)
    prev = _fail(prev, pl.col("domain") == chronic, 0.45, seed=3)
    cur = _fail(cur, pl.col("domain") == chronic, 0.45, seed=4)
    cur = _fail(cur, pl.col("domain") == new, 0.45, seed=5)
    return prev, cur, chronic, new


def test_a_chronically_bad_domain_is_listed_with_its_cost_and_as_before(
    weeks: tuple[pl.DataFrame, pl.DataFrame, str, str],
) -> None:
    prev, cur, chronic, new = weeks
    found = standing_problems(cur, prev)
    # Exactly the two planted domains: their hosts are left to the domain, nothing healthy is listed.
    assert found.select("dimension", "value").rows() == [("domain", chronic), ("domain", new)]
    row = found.row(0, named=True)
    mine, rest = cur.filter(pl.col("domain") == chronic), cur.filter(pl.col("domain") != chronic)
    failed = mine["error_reason"].is_not_null().sum()
    rest_rate = rest["error_reason"].is_not_null().mean()
    assert (row["requests"], row["failed"], row["bytes"]) == (mine.height, failed, mine["bytes"].sum())
    assert row["rest_error_rate"] == pytest.approx(rest_rate)
    assert row["excess_failed"] == pytest.approx(failed - mine.height * rest_rate)
    assert row["error_rate"] > 0.4 and row["p_adjusted"] < 0.01
    assert row["also_previous"] is True
    before = prev.filter(pl.col("domain") == chronic)["error_reason"].is_not_null().mean()
    assert row["previous_error_rate"] == pytest.approx(before)
    assert found.row(1, named=True)["also_previous"] is False  # new this week
    assert standing_problems(cur)["also_previous"].to_list() == [None, None]  # no previous: unknown


def test_a_healthy_pool_lists_nothing() -> None:
    for seed in range(10, 14):
        week = _healthy(seed, start=END - timedelta(days=7))
        assert standing_problems(week).height == 0, seed


def test_a_tiny_segment_is_not_listed(weeks: tuple[pl.DataFrame, pl.DataFrame, str, str]) -> None:
    _, cur, _, _ = weeks
    tiny = cur.head(40).with_columns(
        pl.lit("tiny.example").cast(cur.schema["domain"]).alias("domain"),
        pl.lit(CODE).cast(cur.schema["error_reason"]).alias("error_reason"),
    )  # 40 requests, every one failed: overwhelming evidence, too little traffic to matter
    week = pl.concat([cur, tiny])
    assert "tiny.example" not in standing_problems(week)["value"].to_list()
    assert "tiny.example" in standing_problems(week, min_requests=20)["value"].to_list()


def test_a_lazy_scan_gives_the_eager_result_without_reading_rows(
    tmp_path: Path, weeks: tuple[pl.DataFrame, pl.DataFrame, str, str]
) -> None:
    prev, cur, _, _ = weeks
    cur.write_parquet(tmp_path / "cur.parquet")
    prev.write_parquet(tmp_path / "prev.parquet")
    scans = (pl.scan_parquet(tmp_path / f"{name}.parquet") for name in ("cur", "prev"))
    lazy = standing_problems(*scans)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(engine="streaming"), standing_problems(cur, prev))


def test_networks_and_countries_are_rated_once_enriched(
    weeks: tuple[pl.DataFrame, pl.DataFrame, str, str],
) -> None:
    _, cur, _, _ = weeks
    addresses = sorted(cur["proxy_address"].drop_nulls().cast(pl.String).unique().to_list())
    proxies = pl.DataFrame({
        "proxy_address": addresses,
        "country_code": ["DE" if i % 2 else "FR" for i in range(len(addresses))],
        "asn_number": [64500 + i % 4 for i in range(len(addresses))],
    })
    bad_asn = [a for i, a in enumerate(addresses) if i % 4 == 1]  # half the DE proxies
    week = _fail(cur, pl.col("proxy_address").cast(pl.String).is_in(bad_asn), 0.5, seed=6)
    found = standing_problems(enrich(week, proxies))
    listed = set(found.select("dimension", "value").iter_rows())
    assert ("proxy_asn", "64501") in listed
    assert {("proxy_address", a) for a in bad_asn} <= listed
    assert not {("proxy_country", "FR"), ("proxy_asn", "64500")} & listed  # healthy parts stay out
    assert "proxy_asn" not in standing_problems(week)["dimension"].to_list()  # not enriched: skipped


def test_bad_settings_are_refused_before_any_work(weeks: tuple[pl.DataFrame, pl.DataFrame, str, str]) -> None:
    _, cur, _, _ = weeks
    with pytest.raises(ConfigurationError, match="min_ratio"):
        standing_problems(cur, min_ratio=0.5)
    with pytest.raises(ConfigurationError, match="alpha"):
        standing_problems(cur, alpha=1.5)
    with pytest.raises(ConfigurationError, match="proxy_asn"):
        standing_problems(cur, dimensions=["proxy_asn"])  # needs enrich first


def test_a_bad_24_is_listed_with_the_sums_of_its_proxies() -> None:
    """A /24 is rated from its proxies' counts: its requests, failures and bytes are theirs."""
    cur = _healthy(7, start=END - timedelta(days=7))
    subnet = pl.col("proxy_address").cast(pl.String).str.starts_with("198.19.4.")
    cur = _fail(cur, subnet, 0.3, seed=8)
    for frame in (cur, cur.lazy()):
        found = standing_problems(frame, dimensions=["proxy_subnet_24"])
        found = found.collect() if isinstance(found, pl.LazyFrame) else found
        assert found.select("dimension", "value").rows() == [("proxy_subnet_24", "198.19.4.0/24")]
        mine = cur.filter(subnet)
        row = found.row(0, named=True)
        failed = mine["error_reason"].is_not_null().sum()
        assert (row["requests"], row["failed"], row["bytes"]) == (mine.height, failed, mine["bytes"].sum())
    # Beside the proxies themselves, counted once for both.
    both = standing_problems(cur.lazy(), dimensions=["proxy_address", "proxy_subnet_24"]).collect()
    assert "198.19.4.0/24" in both.filter(pl.col("dimension") == "proxy_subnet_24")["value"].to_list()
