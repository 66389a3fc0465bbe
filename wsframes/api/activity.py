"""The activity cursor: every record of a window exactly once, or an error.

Records have no id and timestamps are not unique, so following ``starting_after`` (strictly older
than the last timestamp seen) silently loses the rest of a tie group that straddles a page
boundary. This cursor pages newest-first with an *inclusive* upper bound instead:

1. Ask for ``timestamp__gte=lo & timestamp__lte=cursor`` (``cursor`` starts at the window's end).
2. If the page holds the whole remainder (``len(results) == count``) keep it all and stop.
3. Otherwise drop the trailing run of records sharing the page's oldest timestamp ``T``, keep the
   rest and set ``cursor = T``: that group is re-read whole at the top of the next page. The cost
   is one dropped run per page, so requests stay within a few percent of
   ``ceil(records / page_size)``.
4. A page made of one timestamp is a tie group at least a page long, which cannot be paged by
   time. It is fetched alone (``gte = lte = T``) with a larger page size and, if still too big,
   split exactly into disjoint ``bytes__gte/bytes__lte`` ranges, recursively. Identical-bytes rows
   that still exceed a page raise :class:`~wsframes.errors.IncompleteDataError`.

Every response is checked against the envelope's ``count``: the rows kept so far plus the count
of the current query must equal the first count. Any inconsistency (records changing under the
pull, a short or out-of-order page, records outside the bounds) raises
:class:`~wsframes.errors.IncompleteDataError`; a partial result is never returned. Nothing here
relies on the server honouring ``page_size``: a server returning fewer rows only costs requests.

The page body is decoded by a caller-supplied function (the loader passes a Polars decoder), so
this module stays free of any frame library. A cursor pages one window sequentially (each page
depends on the last); :mod:`wsframes.loader` runs several cursors over disjoint slices at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Final, Generic, TypeVar

from wsframes._validate import check_plan_id
from wsframes.api.client import HttpClient
from wsframes.errors import ConfigurationError, IncompleteDataError

__all__ = [
    "ACTIVITY_PATH",
    "FILTERS",
    "ActivityCursor",
    "ActivityFilters",
    "PageInfo",
    "format_instant",
    "window_params",
]

log = logging.getLogger("wsframes.api")

ACTIVITY_PATH = "/api/v2/proxy/activity/"
MAX_BYTES = 2**63 - 1
_TEXT_FILTERS = ("search", "error_reason", "verification_category")  # sent as query parameters
P = TypeVar("P")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_instant(micros: int) -> str:
    """Microseconds since the epoch as the ISO-8601 UTC text the API accepts.

    >>> format_instant(1_700_000_000_123_456)
    '2023-11-14T22:13:20.123456+00:00'
    """
    return (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")


def to_micros(instant: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact, no float rounding)."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    """The activity list's filters, validated on construction (before any request).

    The one definition of the filters: :data:`FILTERS` names them for the code that passes them
    on, and a test holds every signature that takes them (loaders, the CLI) to these fields.
    """

    plan_id: int | None = None
    search: str | None = None
    error_reason: str | None = None
    min_bytes: int | None = None
    max_bytes: int | None = None
    verification_category: str | None = None

    def __post_init__(self) -> None:
        check_plan_id(self.plan_id)
        for name in _TEXT_FILTERS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigurationError(
                    f"{name} must be a non-empty string (or None for no filter), got {value!r}."
                )
        for name in ("min_bytes", "max_bytes"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or not 0 <= value <= MAX_BYTES):
                raise ConfigurationError(f"{name} must be a non-negative int, got {value!r}.")
        if self.min_bytes is not None and self.max_bytes is not None and self.min_bytes > self.max_bytes:
            raise ConfigurationError(
                f"min_bytes ({self.min_bytes}) is greater than max_bytes ({self.max_bytes}); "
                "both bounds are inclusive."
            )

    def params(self) -> dict[str, str | int]:
        """Query parameters for these filters (byte bounds excluded: the cursor owns them)."""
        out: dict[str, str | int] = {}
        for name in ("plan_id", *_TEXT_FILTERS):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @property
    def byte_range(self) -> tuple[int, int]:
        """The inclusive byte range the filters allow."""
        lo = 0 if self.min_bytes is None else self.min_bytes
        return lo, MAX_BYTES if self.max_bytes is None else self.max_bytes


#: The filters' names (``plan_id`` aside), as keyword arguments of the loaders.
FILTERS: Final = tuple(f.name for f in fields(ActivityFilters) if f.name != "plan_id")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def window_params(lo_us: int, hi_us: int) -> dict[str, str]:
    """Inclusive API bounds for the instants *lo_us* .. *hi_us* (both sent, always)."""
    return {"timestamp__gte": format_instant(lo_us), "timestamp__lte": format_instant(hi_us)}


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What the cursor needs to know about one decoded page (records newest first).

    ``oldest_run`` is how many trailing records share ``oldest_us``; ``descending`` says whether
    the timestamps are non-increasing; ``bytes_pivot`` is a ``bytes`` value found on the page
    (its median), used to split a tie group.
    """

    count: int
    size: int
    newest_us: int | None = None
    oldest_us: int | None = None
    oldest_run: int = 0
    descending: bool = True
    bytes_pivot: int | None = None


Decoder = Callable[[bytes], tuple[PageInfo, P]]

class ActivityCursor(Generic[P]):
    """Pages one window ``[lo_us, hi_us]`` (inclusive µs) of activity exactly; see the module doc.

    Iterate :meth:`pages` to get ``(payload, keep)`` pairs, newest first: keep the first *keep*
    records of each decoded payload. State belongs to one pull; make a new cursor per window.
    """

    def __init__(
        self,
        http: HttpClient,
        decode: Decoder[P],
        *,
        lo_us: int,
        hi_us: int,
        filters: ActivityFilters,
        page_size: int,
        big_page_size: int | None = None,
        on_page: Callable[[int, int], None] | None = None,
    ) -> None:
        self._http, self._decode = http, decode
        self.lo_us, self.hi_us, self.filters = lo_us, hi_us, filters
        self.page_size = page_size
        self.big_page_size = big_page_size or page_size * 10
        self._on_page = on_page
        self.total: int | None = None  # the first envelope count: what the pull must add up to
        self.kept = 0

    def first_page(self) -> tuple[PageInfo, P]:
        """The newest page of the whole window, checked (the loader slices the rest)."""
        info, payload = self._fetch(self.lo_us, self.hi_us, self.page_size, self.filters.byte_range)
        self._expect(info.count)
        return info, payload

    def _fetch(self, lo: int, hi: int, page_size: int, byte_range: tuple[int, int]) -> tuple[PageInfo, P]:
        params: dict[str, str | int] = {**window_params(lo, hi), **self.filters.params()}
        if byte_range[0] > 0:
            params["bytes__gte"] = byte_range[0]
        if byte_range[1] < MAX_BYTES:
            params["bytes__lte"] = byte_range[1]
        params["page_size"] = page_size
        info, payload = self._http.get(ACTIVITY_PATH, params, decode=self._decode)
        self._check_page(info, lo, hi)
        return info, payload

    def _check_page(self, info: PageInfo, lo: int, hi: int) -> None:
        if info.size > info.count or (info.size == 0 and info.count > 0):
            self._fail(f"a page held {info.size} records while the envelope count said {info.count}")
        if not info.descending:
            self._fail("a page was not ordered newest first")
        if info.size and not (lo <= (info.oldest_us or 0) and (info.newest_us or 0) <= hi):
            self._fail("a page held records outside the requested time bounds")

    def _fail(self, why: str) -> None:
        raise IncompleteDataError(
            f"Cannot guarantee an exact load: {why}. Records may have changed during the pull "
            "or the server misbehaved; nothing was returned. Retry, or narrow the window."
        )

    def _expect(self, count: int) -> None:
        """Check that what is kept plus what the current query counts is the whole window."""
        if self.total is None:
            self.total = count
        elif self.kept + count != self.total:
            self._fail(f"{self.kept} records kept + {count} remaining != {self.total} counted at first")

    def _progress(self) -> None:
        if self._on_page is not None:
            self._on_page(self.kept, self.total or 0)

    def pages(self) -> Iterator[tuple[P, int]]:
        """Yield ``(payload, keep)`` newest first until the window is exhausted, then verify."""
        cursor = self.hi_us
        while cursor >= self.lo_us:
            info, payload = self._fetch(self.lo_us, cursor, self.page_size, self.filters.byte_range)
            self._expect(info.count)
            if info.size == info.count:  # the page holds the whole remainder
                self.kept += info.size
                self._progress()
                yield payload, info.size
                break
            assert info.oldest_us is not None
            if info.oldest_run < info.size:
                keep = info.size - info.oldest_run
                self.kept += keep
                self._progress()
                yield payload, keep
                cursor = info.oldest_us  # inclusive: the dropped group is re-read whole
            else:
                del payload
                yield from self._tie_group(info.oldest_us)
                cursor = info.oldest_us - 1
        if self.total is not None and self.kept != self.total:
            self._fail(f"{self.kept} records were read but {self.total} were counted")
        log.debug("window pulled: %d records", self.kept)

    def _tie_group(self, ts: int) -> Iterator[tuple[P, int]]:
        """Every record at exactly *ts*: a larger page, else disjoint byte ranges (recursive)."""
        log.info("a tie group of at least %d records at %s; paging it by bytes", self.page_size,
                 format_instant(ts))
        ranges = [self.filters.byte_range]
        expected: int | None = None
        got = 0
        while ranges:
            byte_lo, byte_hi = ranges.pop()
            info, payload = self._fetch(ts, ts, self.big_page_size, (byte_lo, byte_hi))
            if expected is None:
                expected = info.count
            if info.size == info.count:
                got += info.size
                self.kept += info.size
                self._progress()
                yield payload, info.size
                continue
            del payload
            if byte_lo == byte_hi:
                self._fail(
                    f"{info.count} records share timestamp {format_instant(ts)} and byte count "
                    f"{byte_lo}, more than one page ({info.size}) can hold, so they cannot be paged"
                )
            pivot = min(max(info.bytes_pivot if info.bytes_pivot is not None else byte_lo, byte_lo), byte_hi)
            # Three disjoint parts; each strictly smaller than the range unless it is [pivot, pivot].
            parts = [(byte_lo, pivot - 1), (pivot, pivot), (pivot + 1, byte_hi)]
            ranges.extend(p for p in parts if p[0] <= p[1])
        if got != expected:
            self._fail(f"the tie group at {format_instant(ts)} gave {got} of {expected} records")
