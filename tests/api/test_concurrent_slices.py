"""Concurrent exact slices: every record once at any concurrency, page size and slice edge."""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta

import polars as pl
import pytest

import wsframes._engine as engine
from tests.api.conftest import KEY, canonical, hours_ago, make_client
from wsframes._engine import slice_sizes
from wsframes.api.activity import ACTIVITY_PATH, to_micros
from wsframes.api.slices import plan_slices
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.schema import ACTIVITY_SCHEMA

LO = hours_ago(6)
HI = hours_ago(2)
# Instants carrying tie groups; the forced slice edges below fall exactly on them.
EDGES = [LO + timedelta(minutes=m, microseconds=7) for m in (40, 95, 150, 200)]


def _ties_at(at: datetime, n: int, seed: int) -> pl.DataFrame:
    base = generate_activity(n, start=at - timedelta(hours=1), end=at, seed=seed)
    return base.with_columns(pl.lit(at).cast(ACTIVITY_SCHEMA["timestamp"]).alias("timestamp"))


@pytest.fixture(scope="module")
def tied_fake():
    """Background traffic plus tie groups (9 to 40 rows) at, just before and just after each edge."""
    parts = [generate_activity(2_500, start=LO, end=HI, seed=21)]
    for k, at in enumerate(EDGES):
        for shift, n in ((-1, 9), (0, 40), (1, 13)):
            parts.append(_ties_at(at + timedelta(microseconds=shift), n, seed=100 + 3 * k + shift))
    plan = pl.concat(parts).sort("timestamp")
    with FakeWebshare(KEY, plans={1: plan}) as fake:
        yield fake


def _forced(edges_us: list[int], offset: int):
    """A plan_slices stand-in cutting at the tie instants: slices start (offset 0) or end
    (offset 1) exactly on a tie group."""

    def plan(lo: int, hi: int, n: int, weights=()) -> list[tuple[int, int]]:
        cuts = [e + offset for e in edges_us if lo < e + offset <= hi]
        starts = [lo, *cuts]
        return list(zip(starts, [c - 1 for c in cuts] + [hi], strict=True))

    return plan


@pytest.mark.parametrize("connections", [2, 3, 8])
@pytest.mark.parametrize("page_size", [11, 400])  # 11: the 40-row groups exceed a page
@pytest.mark.parametrize("offset", [0, 1])
def test_ties_on_slice_and_page_edges_are_neither_lost_nor_duplicated(
        tied_fake, monkeypatch, connections, page_size, offset):
    monkeypatch.setattr(engine, "plan_slices", _forced([to_micros(e) for e in EDGES], offset))
    with make_client(tied_fake, page_size=page_size, connections=connections) as client:
        df = client.activity(LO, HI)
    assert df["timestamp"].is_sorted()
    assert canonical(df).equals(canonical(tied_fake.truth()))


@pytest.mark.parametrize("connections", [1, 2, 5, 8])
def test_stats_balanced_slices_are_exact_and_ordered(fake, window, connections):
    lo, hi = window
    truth = fake.truth().filter((pl.col("timestamp") >= lo) & (pl.col("timestamp") < hi))
    with make_client(fake, page_size=250, connections=connections) as client:
        df = client.activity(lo, hi)
    assert df.equals(truth)  # same rows in the same order: slices concatenated in time order


def test_slices_are_balanced_by_the_hourly_counts():
    hour = 3_600_000_000
    # 90 % of the records in the last of ten hours: most slices must fall inside that hour.
    weights = [(k * hour, (k + 1) * hour - 1, 10.0) for k in range(9)] + [(9 * hour, 10 * hour - 1, 810.0)]
    slices = plan_slices(0, 10 * hour - 1, [1, 1, 1, 1], weights)
    assert slices[0][0] == 0 and slices[-1][1] == 10 * hour - 1
    assert all(a <= b and b + 1 == c for (a, b), (c, _) in itertools.pairwise(slices))
    assert sum(a >= 9 * hour for a, _ in slices) == 3


def _served_pages(records: int, connections: int) -> tuple[int, int, int]:
    """A week of *records* loaded on pages of 200: (activity requests, other requests, slices)."""
    lo, hi = hours_ago(24 * 8), hours_ago(24)
    plan = generate_activity(records, start=lo, end=hi, seed=4)
    with FakeWebshare(KEY, plans={1: plan}) as fake, \
            make_client(fake, page_size=200, connections=connections) as client:
        df = client.activity(lo, hi)
        sent = client.request_count
    assert df.equals(fake.truth())
    pages = [r for r in fake.requests if r.path == ACTIVITY_PATH]
    return len(pages), sent - len(pages), len({r.params["timestamp__gte"] for r in pages})


def test_a_long_load_sends_at_most_five_percent_more_requests_than_pages():
    pages, others, slices = _served_pages(10_000, connections=8)
    assert pages <= math.floor(math.ceil(10_000 / 200) * 1.05)
    assert others == 1  # the hourly stats that place the cuts
    assert slices == 8  # each slice starts at its own instant


def test_a_window_of_a_few_pages_is_read_sequentially():
    """990 records: five pages and a little more for the tie groups cut at page edges (each
    re-read whole); slices would cost one more page each, and the stats one more request."""
    pages, others, slices = _served_pages(990, connections=8)
    assert slices == 1
    assert (pages, others) == (_served_pages(990, connections=1)[0], 0)  # as one cursor, no stats
    assert _served_pages(150, connections=8) == (1, 0, 1)  # a window on one page: one request


@pytest.mark.parametrize("page_size", [50, 1000])
def test_slices_leave_room_for_error_within_the_request_budget(page_size):
    per_page = page_size - 1  # pages but the last drop their oldest timestamp (re-read next)
    for total in range(page_size + 1, 90 * page_size, page_size // 7):
        rest = total - per_page
        sizes = slice_sizes(rest, total, page_size, 8)
        pages = [math.ceil(size / per_page) for size in sizes]
        assert sum(sizes) == pytest.approx(rest)
        assert 1 + sum(pages) <= max(math.floor(math.ceil(total / page_size) * 1.05),
                                     1 + math.ceil(rest / per_page))  # or what one cursor costs
        if len(sizes) > 1:
            assert min(p * per_page - size for p, size in zip(pages, sizes, strict=True)) >= page_size / 8
        assert len(sizes) == 8 or total < 60 * page_size  # long loads use every connection


def test_progress_counts_every_record_across_slices(fake, window, monkeypatch):
    added: list[tuple[int, int]] = []

    class Recorder:
        pages = 0

        def __init__(self, enabled, description):
            pass

        def add(self, rows: int, total: int = 0) -> None:
            added.append((rows, total))

        def close(self) -> None:
            pass

    monkeypatch.setattr("wsframes.loader.Progress", Recorder)
    lo, hi = window
    with make_client(fake, page_size=300, connections=4) as client:
        df = client.activity(lo, hi)
    assert sum(rows for rows, _ in added) == df.height
    assert {total for _, total in added if total} == {df.height}  # the first page's count, exactly


def test_a_failing_slice_stops_the_load_with_its_error(tied_fake):
    from wsframes.errors import ServerError
    from wsframes.fake.faults import Faults

    tied_fake.faults = Faults(schedule={k: "503" for k in range(tied_fake.request_count + 4, 10_000)})
    try:
        with make_client(tied_fake, page_size=50, connections=4, max_retries=1) as client, \
                pytest.raises(ServerError, match="503"):
            client.activity(LO, HI)
    finally:
        tied_fake.faults = None


def test_the_progress_bar_is_quiet_when_stderr_is_not_a_terminal(monkeypatch):
    from wsframes.api.progress import Progress

    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    bar = Progress(None, "activity")
    bar.add(10, 20)
    assert bar._bar is None and (bar.rows, bar.total, bar.pages) == (10, 20, 1)
    bar.close()
