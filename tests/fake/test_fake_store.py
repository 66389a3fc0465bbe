"""PlanStore (the server's query engine) against a plain Polars filter of the truth.

Hypothesis draws windows, cursors, filters and page sizes; every answer must equal what a
straightforward filter-and-sort of the records says, so bisecting and slicing can never drift.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsframes.fake.params import to_us
from wsframes.fake.store import PlanStore, Query

START = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def store() -> PlanStore:
    from wsframes.fake import generate_activity

    df = generate_activity(1500, start=START, end=START + timedelta(hours=6), seed=8)
    return PlanStore(df, "America/Los_Angeles")


def model(df: pl.DataFrame, q: Query) -> pl.DataFrame:
    """Newest-first records matching *q*, by the obvious route."""
    us = pl.col("timestamp").cast(pl.Int64)
    cond = pl.lit(True)
    if q.gte is not None:
        cond &= us >= q.gte
    if q.lte is not None:
        cond &= us <= q.lte
    if q.starting_after is not None:
        cond &= us < q.starting_after
    if q.search is not None:
        cond &= pl.col("hostname").str.to_lowercase().str.contains(q.search, literal=True)
    if q.error_reason == "*":
        cond &= pl.col("error_reason").is_not_null()
    elif q.error_reason is not None:
        cond &= pl.col("error_reason").cast(pl.String) == q.error_reason
    if q.bytes_gte is not None:
        cond &= pl.col("bytes") >= q.bytes_gte
    return df.reverse().filter(cond.fill_null(False))


offsets = st.integers(min_value=-600, max_value=6 * 3600 + 600)


@settings(max_examples=150, deadline=None)
@given(
    lo=st.none() | offsets, hi=st.none() | offsets, after=st.none() | offsets,
    search=st.none() | st.sampled_from(["www", "evil", "a", "zzz-none"]),
    error=st.none() | st.sampled_from(["*", "bandwidthlimit", "nope"]),
    min_bytes=st.none() | st.integers(0, 200_000),
    size=st.integers(1, 400),
)
def test_pages_equal_the_model(
    store: PlanStore, lo: int | None, hi: int | None, after: int | None, search: str | None,
    error: str | None, min_bytes: int | None, size: int,
) -> None:
    base = to_us(START)
    q = Query(
        gte=None if lo is None else base + lo * 1_000_000,
        lte=None if hi is None else base + hi * 1_000_000,
        starting_after=None if after is None else base + after * 1_000_000,
        search=search, error_reason=error, bytes_gte=min_bytes,
    )
    expected = model(store.truth, q)
    page = store.page(q, size)
    assert page.count == expected.height
    assert page.n == min(size, expected.height)
    assert page.has_next == (expected.height > size)
    records = json.loads(b"[" + page.body + b"]")
    assert len(records) == page.n
    got = [r["bytes"] for r in records]
    assert got == expected["bytes"].head(size).to_list()
    if page.n:
        assert page.last_timestamp == records[-1]["timestamp"]


def test_an_empty_plan_answers_with_an_empty_page() -> None:
    from wsframes.schema import empty_activity

    store = PlanStore(empty_activity(), "UTC")
    page = store.page(Query(), 25)
    assert (page.count, page.body, page.n, page.has_next) == (0, b"", 0, False)
