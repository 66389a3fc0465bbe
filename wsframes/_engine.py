"""The load engine: one window as concurrent exact slices, assembled in time order.

1. The newest page of the whole window is read. If it holds the whole window, the load is done
   (one request).
2. Otherwise the page's count says exactly how many records remain; the rest of the window
   (down to the page's oldest timestamp, inclusive: that tie group is re-read whole) is split
   into at most ``connections`` disjoint slices (the stats hours weigh them), each planned a
   little short of whole pages so that slicing costs at most 5 % more requests than there are
   pages (:func:`slice_sizes`; a few pages are one slice, with no further request). Slices are
   cut where the hourly ``/api/v2/stats/`` of the rest put them (one request, the only one
   beyond the pages) and each is paged by its own exact cursor, all at once, over the client's
   keep-alive pool. Pages are decoded on the thread that fetched them.
3. Each cursor checks its slice against its own first ``count``; the slices' counts plus the
   first page's kept rows must equal the first ``count``. Any mismatch raises
   :class:`~wsframes.errors.IncompleteDataError`; a partial result is never returned.

At most ``connections`` raw pages are alive at a time (one per worker); the kept records are
the result itself. With ``connections=1`` the window is paged by one cursor, sequentially.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

import polars as pl

from wsframes.api.activity import ActivityCursor, ActivityFilters, PageInfo, to_micros
from wsframes.api.client import HttpClient
from wsframes.api.slices import Weight, plan_slices
from wsframes.api.stats import get_hourly_stats
from wsframes.errors import IncompleteDataError, WsframesError
from wsframes.frames import assemble_pages, hourly_stats_frame, parse_activity_page

__all__ = ["decode_activity_page", "load_window", "page_info", "slice_sizes"]

log = logging.getLogger("wsframes.loader")

_HOUR_US = 3_600_000_000
_SPARE = 0.05  # requests a sliced load may spend beyond one per page, as a share of its pages
_SLACK = 8  # a slice leaves room for at least 1/8 page of error in its estimated edges
Pages = list[pl.DataFrame]


def page_info(count: int, page: pl.DataFrame) -> PageInfo:
    """Summarise a decoded page, already reversed to ascending, for the cursor.

    See :class:`wsframes.api.activity.PageInfo`: the API's order is newest first, so that is
    what ``descending`` is about (here: the reversed page must be ascending).
    """
    if page.height == 0:
        return PageInfo(count=count, size=0)
    micros = page["timestamp"].to_physical()
    oldest = int(micros[0])
    run = int((micros == oldest).sum())
    pivot = page["bytes"].median() if run == page.height else None  # only a page-sized tie group needs it
    return PageInfo(
        count=count,
        size=page.height,
        newest_us=int(micros[-1]),
        oldest_us=oldest,
        oldest_run=run,
        descending=bool(micros.is_sorted()),
        bytes_pivot=None if pivot is None else int(pivot),  # type: ignore[arg-type]
    )


def decode_activity_page(body: bytes) -> tuple[PageInfo, pl.DataFrame]:
    """Decode a whole page where it was fetched: its summary for the cursor, its records ascending."""
    count, page = parse_activity_page(body, reverse=True)
    return page_info(count, page), page


class _Stopped(Exception):
    """Another slice failed: this one stops at its next page."""


class _Load:
    """The state of one load: shared by its slices, owned by the calling thread."""

    def __init__(self, http: HttpClient, filters: ActivityFilters, page_size: int,
                 on_rows: Callable[[int, int], None]) -> None:
        self.http, self.filters, self.page_size = http, filters, page_size
        self.on_rows = on_rows  # (rows added, total or 0 when not yet known)
        self.stop = threading.Event()

    def cursor(self, lo: int, hi: int) -> ActivityCursor[pl.DataFrame]:
        return ActivityCursor(self.http, decode_activity_page, lo_us=lo, hi_us=hi, filters=self.filters,
                              page_size=self.page_size, big_page_size=min(100_000, self.page_size * 10))

    def run_slice(self, lo: int, hi: int) -> tuple[Pages, int]:
        """Every record of ``[lo, hi]`` (pages newest first) and the slice's first count."""
        cursor = self.cursor(lo, hi)
        pages: Pages = []
        for frame, keep in cursor.pages():
            if self.stop.is_set():
                raise _Stopped
            pages.append(_newest(frame, keep))
            self.on_rows(keep, 0)
        return pages, cursor.total or 0


def _newest(frame: pl.DataFrame, keep: int) -> pl.DataFrame:
    """The *keep* newest records of an ascending page (a zero-copy slice)."""
    return frame if keep == frame.height else frame.slice(frame.height - keep)


def load_window(http: HttpClient, executor: ThreadPoolExecutor | None, *, lo_us: int, hi_us: int,
                filters: ActivityFilters, page_size: int, connections: int,
                on_rows: Callable[[int, int], None]) -> pl.DataFrame:
    """Every record of the inclusive window ``[lo_us, hi_us]``, ascending (see the module doc)."""
    load = _Load(http, filters, page_size, on_rows)
    if executor is None or connections <= 1:
        pages, total = load.run_slice(lo_us, hi_us)
        on_rows(0, total)
        return assemble_pages(pages)
    info, page = load.cursor(lo_us, hi_us).first_page()
    on_rows(0, info.count)
    if info.size == info.count:  # one page holds the window
        on_rows(info.size, info.count)
        return page
    if info.oldest_run == info.size:  # the first page is one tie group: let one cursor page it
        log.debug("first page is one tie group; paging the window sequentially")
        return load_window(http, None, lo_us=lo_us, hi_us=hi_us, filters=filters, page_size=page_size,
                           connections=1, on_rows=lambda n, _: on_rows(n, info.count))
    assert info.oldest_us is not None
    keep = info.size - info.oldest_run
    on_rows(keep, info.count)
    rest = info.count - keep
    sizes = slice_sizes(rest, info.count, page_size, connections)
    weights = _weights(http, lo_us, hi_us, filters.plan_id) if len(sizes) > 1 else []
    slices = plan_slices(lo_us, info.oldest_us, sizes, weights)
    results = _run_all(executor, load, slices)
    counted = sum(total for _, total in results)
    if counted != rest:
        raise IncompleteDataError(
            f"Cannot guarantee an exact load: the window's slices counted {counted} records where "
            f"{rest} remained after the first page. Records may have changed during the pull; "
            "nothing was returned. Retry, or narrow the window."
        )
    ordered = [_newest(page, keep)] + [p for pages, _ in reversed(results) for p in pages]
    log.debug("%d records in %d slices, %d pages", info.count, len(slices), len(ordered))
    return assemble_pages(ordered)


def slice_sizes(rest: int, total: int, page_size: int, connections: int) -> list[float]:
    """Records to plan in each slice (oldest first) for the *rest* of a window of *total*.

    A slice costs whole pages, so each is planned short of its pages by the same margin, at
    least ``1 / _SLACK`` of a page: an estimate of its edges off by less costs no extra request.
    As many slices as there are connections while the load stays within its budget: what one
    cursor would need, or ``_SPARE`` more than the window's pages if that is more. A window of a
    few pages is one slice, read on from the first page.
    """
    per_page = max(page_size - 1, 1)  # a page but the last keeps all but its oldest timestamp
    budget = max(math.ceil(rest / per_page), math.floor(math.ceil(total / page_size) * (1 + _SPARE)) - 1)
    for n in range(min(connections, budget), 1, -1):
        pages = math.ceil((rest + n * page_size / _SLACK) / per_page)
        if pages <= budget:
            margin = (pages * per_page - rest) / n
            return [(pages // n + (k < pages % n)) * per_page - margin for k in range(n)]
    return [float(rest)]


def _run_all(executor: ThreadPoolExecutor, load: _Load, slices: list[tuple[int, int]]
             ) -> list[tuple[Pages, int]]:
    """Run every slice; on the first failure stop the others and raise it."""
    futures = [executor.submit(load.run_slice, lo, hi) for lo, hi in slices]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f.done() and f.exception() is not None]
        if failed:
            raise _first_error(failed)
        return [f.result() for f in futures]
    finally:
        load.stop.set()  # also on Ctrl-C in the calling thread: workers stop at their next page
        for f in futures:
            f.cancel()


def _first_error(failed: list[Future[tuple[Pages, int]]]) -> BaseException:
    errors = [f.exception() for f in failed]
    real = [e for e in errors if e is not None and not isinstance(e, _Stopped)]
    return (real or errors)[0]  # type: ignore[return-value]


def _weights(http: HttpClient, lo_us: int, hi_us: int, plan_id: int | None) -> list[Weight]:
    """Hourly request totals of the window: where to cut the slices (one request).

    The stats only place the cuts: without them, slices cut by time alone are still exact.
    """
    try:
        hours = hourly_stats_frame(get_hourly_stats(http, lo_us, hi_us, plan_id=plan_id))
    except WsframesError as exc:
        log.info("hourly stats unavailable (%s); slicing the window by time only", exc)
        return []
    return [(to_micros(ts), to_micros(ts) + _HOUR_US - 1, float(total or 0))
            for ts, total in zip(hours["timestamp"], hours["requests_total"], strict=True)]
