"""The proxy-pool helpers on a DuckDB relation: the same rows as on Polars, a relation back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import wsframes.analysis as wa
from wsframes.fake import FakeWebshare
from wsframes.pool import load_proxies, load_replaced_proxies

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWebshare]:
    with FakeWebshare("pool-key", records=5_000, now=NOW, seed=3) as server:
        yield server


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.selectors.datetime(time_zone="*").dt.convert_time_zone("UTC"))


def test_pool_helpers_on_duckdb(fake: FakeWebshare) -> None:
    args = {"api_key": "pool-key", "base_url": fake.base_url, "requests_per_minute": None}
    proxies, replaced = load_proxies(**args), load_replaced_proxies(**args)  # type: ignore[arg-type]
    activity = fake.truth()
    enriched = wa.enrich(activity, proxies, replaced)
    rel = wa.enrich(duckdb.from_arrow(activity.to_arrow()), proxies, replaced)
    assert isinstance(rel, duckdb.DuckDBPyRelation)
    assert_frame_equal(_utc(rel.pl()), _utc(enriched), check_dtypes=False)
    for call in (
        lambda d: wa.pool_health(d, by="proxy_country"),
        lambda d: wa.client_audit(d),
    ):
        out = call(rel)
        assert isinstance(out, duckdb.DuckDBPyRelation)
        assert_frame_equal(_utc(out.pl()), _utc(call(enriched)), check_dtypes=False, rel_tol=1e-9, abs_tol=0)
    plan = wa.replacement_plan(rel, proxies, replaced=replaced)
    assert plan.to_json() == wa.replacement_plan(enriched, proxies, replaced=replaced).to_json()
