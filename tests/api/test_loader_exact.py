"""Exactness: every record of the window once, compared with the data the fake server holds."""

from __future__ import annotations

import logging
import math
import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

import wsframes._engine as engine
from tests.api.conftest import KEY, canonical, hours_ago, in_window, make_client
from wsframes.errors import IncompleteDataError
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.schema import ACTIVITY_SCHEMA


def test_full_window_row_for_row_with_few_requests(fake, window):
    lo, hi = window
    expected = in_window(fake.truth(), lo, hi)
    before = fake.request_count
    with make_client(fake, page_size=1000, connections=1) as client:
        df = client.activity(lo, hi)
    used = fake.request_count - before
    assert df.schema == ACTIVITY_SCHEMA
    assert df.equals(expected)  # same rows, same ascending order, no global sort needed
    ideal = math.ceil(expected.height / 1000)
    assert ideal <= used <= ideal + 1  # the dropped tie run costs at most a few percent


@pytest.mark.parametrize("page_size", [2, 3, 7, 13, 50, 333])
def test_tie_groups_straddling_pages_at_many_page_sizes(fake, page_size):
    truth = fake.truth()
    # The slice around the largest burst, so tie groups of up to dozens of rows cross boundaries.
    burst = truth.group_by("timestamp").len().sort("len").row(-1, named=True)
    assert burst["len"] > 20
    lo = burst["timestamp"] - timedelta(minutes=40)
    hi = burst["timestamp"] + timedelta(minutes=20)
    expected = in_window(truth, lo, hi)
    with make_client(fake, page_size=page_size) as client:
        df = client.activity(lo, hi)
    assert df["timestamp"].is_sorted()
    assert canonical(df).equals(canonical(expected))


def _tied(n: int, at: datetime, *, bytes_values: list[int] | None = None, seed: int = 0) -> pl.DataFrame:
    base = generate_activity(n, start=at - timedelta(hours=1), end=at, seed=seed)
    out = base.with_columns(pl.lit(at).cast(ACTIVITY_SCHEMA["timestamp"]).alias("timestamp"))
    if bytes_values is not None:
        out = out.with_columns(pl.Series("bytes", bytes_values, dtype=pl.Int64))
    return out


def test_giant_tie_group_larger_than_the_page_cap_is_split_exactly():
    at = hours_ago(30).replace(microsecond=123456)
    plan = pl.concat([
        generate_activity(700, start=at - timedelta(hours=2), end=at, seed=3),
        _tied(2_500, at),
        generate_activity(300, start=at + timedelta(microseconds=1), end=at + timedelta(hours=1), seed=4),
    ])
    with FakeWebshare(KEY, plans={1: plan}, page_cap=1000) as fake, make_client(fake) as client:
        df = client.activity(at - timedelta(hours=3), at + timedelta(hours=2))
        assert canonical(df).equals(canonical(fake.truth()))
        assert df.filter(pl.col("timestamp") == at).height == 2_500


def test_identical_rows_beyond_one_page_raise_rather_than_lose_data():
    at = hours_ago(30)
    plan = _tied(30, at, bytes_values=[512] * 30)
    with (
        FakeWebshare(KEY, plans={1: plan}, page_cap=10) as fake,
        make_client(fake) as client,
        pytest.raises(IncompleteDataError, match="share timestamp"),
    ):
        client.activity(at - timedelta(hours=1), at + timedelta(hours=1))


def test_identical_rows_that_fit_a_page_are_all_kept():
    at = hours_ago(30)
    plan = pl.concat([_tied(1, at, seed=1)] * 8)  # eight byte-identical records
    with (
        FakeWebshare(KEY, plans={1: plan}, page_cap=3) as fake,
        make_client(fake) as client,
        pytest.raises(IncompleteDataError),
    ):
        client.activity(at - timedelta(hours=1), at + timedelta(hours=1))
    with FakeWebshare(KEY, plans={1: plan}, page_cap=100) as fake, make_client(fake, page_size=3) as client:
        df = client.activity(at - timedelta(hours=1), at + timedelta(hours=1))
        assert df.height == 8 and df.unique().height == 1


def test_server_returning_fewer_than_page_size_stays_exact(window):
    lo, hi = window
    plan = generate_activity(1_500, start=lo, end=hi, seed=5)
    with FakeWebshare(KEY, plans={1: plan}, page_cap=97) as fake, make_client(fake, page_size=1000) as client:
        df = client.activity(lo, hi)
        assert df.equals(fake.truth())
        assert fake.request_count <= math.ceil(1_500 / 97) * 1.1 + 1


def test_half_open_window_includes_start_and_excludes_end():
    start, end = hours_ago(10), hours_ago(5)
    edges = pl.concat([
        _tied(3, start - timedelta(microseconds=1), seed=1),
        _tied(2, start, seed=2),
        generate_activity(50, start=start, end=end, seed=3),
        _tied(2, end - timedelta(microseconds=1), seed=4),
        _tied(4, end, seed=5),
    ])
    with FakeWebshare(KEY, plans={1: edges}, page_cap=5) as fake, make_client(fake, page_size=5) as client:
        df = client.activity(start, end)
        assert canonical(df).equals(canonical(in_window(fake.truth(), start, end)))
        assert df["timestamp"].min() == start
        assert df.filter(pl.col("timestamp") == start).height == 2
        assert df["timestamp"].max() == end - timedelta(microseconds=1)
        # Consecutive windows neither lose nor double-count the records at the shared edge.
        before = client.activity(start - timedelta(hours=1), start)
        assert before.height + df.height == in_window(fake.truth(), start - timedelta(hours=1), end).height


def test_empty_window_gives_an_empty_frame_with_the_full_schema(fake):
    with make_client(fake) as client:
        df = client.activity(hours_ago(10), hours_ago(9))
    assert df.height == 0
    assert df.schema == ACTIVITY_SCHEMA


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Asia/Kolkata", "UTC"])
def test_offsets_and_daylight_saving_change_normalise_to_utc(tz):
    # 2026-11-01 09:00 UTC: Los Angeles goes from -07:00 to -08:00 inside this window.
    lo, hi = datetime(2026, 11, 1, 6, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC)
    plan = generate_activity(800, start=lo, end=hi, seed=9)
    with FakeWebshare(KEY, plans={1: plan}, tz=tz) as fake, make_client(fake, page_size=100) as client:
        df = client.activity(lo, hi)
        assert df.equals(fake.truth())
        assert df["timestamp"].dtype == pl.Datetime("us", "UTC")


def test_plan_id_reads_the_right_plan(fake, window):
    lo, hi = window
    with make_client(fake) as client:
        one = client.activity(lo, hi, plan_id=1)
        two = client.activity(lo, hi, plan_id=2)
    assert one.equals(in_window(fake.truth(1), lo, hi))
    assert two.equals(in_window(fake.truth(2), lo, hi))
    assert not one.equals(two)


@pytest.mark.parametrize(
    ("filters", "predicate"),
    [
        ({"error_reason": "*"}, pl.col("error_reason").is_not_null()),
        ({"error_reason": "no_proxies_allocated"}, pl.col("error_reason") == "no_proxies_allocated"),
        ({"search": "bank"}, pl.col("hostname").str.to_lowercase().str.contains("bank", literal=True)),
        ({"min_bytes": 10_000}, pl.col("bytes") >= 10_000),
        ({"max_bytes": 500}, pl.col("bytes") <= 500),
        ({"min_bytes": 100, "max_bytes": 5_000}, pl.col("bytes").is_between(100, 5_000)),
        (
            {"verification_category": "requests_to_financial_institutions"},
            pl.col("hostname").str.to_lowercase().str.contains("bank", literal=True),
        ),
    ],
)
def test_each_filter_matches_the_truth(fake, window, filters, predicate):
    lo, hi = window
    expected = in_window(fake.truth(), lo, hi).filter(predicate)
    assert 0 < expected.height < in_window(fake.truth(), lo, hi).height
    with make_client(fake, page_size=200) as client:
        df = client.activity(lo, hi, **filters)
    assert canonical(df).equals(canonical(expected))


@pytest.mark.parametrize(("connections", "after"), [(1, 2), (4, 1), (4, 2)])
def test_records_changing_during_the_pull_raise(window, monkeypatch, connections, after):
    """Late records land in the oldest slice after *after* pages were decoded: the load raises.

    With 4 connections and ~3 pages per slice, the oldest slice cannot have finished after two
    decoded pages (a part already read cannot see late records: that is what sync's settle is for).
    """
    lo, hi = window
    plan = generate_activity(3_000, start=lo, end=hi, seed=6)
    late = generate_activity(5, start=lo, end=lo + timedelta(hours=1), seed=8)
    with FakeWebshare(KEY, plans={1: plan}) as fake, make_client(
            fake, page_size=300, connections=connections) as client:
        decode = engine.decode_activity_page
        calls = []

        def decode_then_insert(body: bytes):
            calls.append(1)
            if len(calls) == after:  # late-arriving records land in the part not yet read
                fake.add_records(None, late)
            return decode(body)

        monkeypatch.setattr(engine, "decode_activity_page", decode_then_insert)
        with pytest.raises(IncompleteDataError, match="counted"):
            client.activity(lo, hi)


def _random_ties(seed: int, at: datetime) -> pl.DataFrame:
    """A plan of 60-200 records on few distinct instants: tie groups of every size, some at the edges."""
    rng = random.Random(seed)
    n = rng.randint(60, 200)
    base = generate_activity(n, start=at - timedelta(hours=1), end=at, seed=seed)
    instants = sorted(rng.sample(range(0, 3_600_000_000, 1_000), k=rng.randint(5, 25)))
    stamps = [at - timedelta(hours=1) + timedelta(microseconds=rng.choice(instants)) for _ in range(n)]
    return base.with_columns(pl.Series("timestamp", stamps, dtype=ACTIVITY_SCHEMA["timestamp"]))


def test_randomised_tie_structures_at_random_page_sizes():
    at = hours_ago(40)
    plans = {seed: _random_ties(seed, at) for seed in range(1, 25)}
    with FakeWebshare(KEY, plans=plans, page_cap=1000) as fake:
        for seed, plan in plans.items():
            page_size = random.Random(seed).randint(2, 12)
            with make_client(fake, page_size=page_size) as client:
                df = client.activity(at - timedelta(hours=1), at, plan_id=seed)
            assert df["timestamp"].is_sorted(), (seed, page_size)
            assert canonical(df).equals(canonical(plan)), (seed, page_size)


def test_loads_in_parallel_threads_stay_exact(fake, window):
    from concurrent.futures import ThreadPoolExecutor

    lo, hi = window

    def load(plan_id: int) -> pl.DataFrame:
        with make_client(fake, page_size=300) as client:  # one client per thread
            return client.activity(lo, hi, plan_id=plan_id)

    with ThreadPoolExecutor(4) as pool:
        frames = list(pool.map(load, [1, 2, 1, 2]))
    for plan_id, df in zip([1, 2, 1, 2], frames, strict=True):
        assert df.equals(in_window(fake.truth(plan_id), lo, hi))


def test_a_start_of_exactly_90d_reads_as_far_back_as_the_api_serves(
    fake: FakeWebshare, caplog: pytest.LogCaptureFixture
) -> None:
    """'90d' resolves a moment before it is checked and sent; it must not be refused (or 400)."""
    with caplog.at_level(logging.INFO, logger="wsframes.loader"), make_client(fake) as client:
        got = client.activity("90d")
    assert got.equals(fake.truth(1))
    assert "just inside the API's 90-day floor" in caplog.text
