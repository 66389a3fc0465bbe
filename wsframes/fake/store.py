"""What the fake server holds for one plan, and how it answers an activity query.

Records are kept newest first, each pre-rendered once as JSON followed by a comma in one byte
buffer. An unfiltered page is then a single slice of that buffer found by bisecting the sorted
timestamps; a filtered query (search, error_reason, bytes, verification_category) scans the
time range with Polars and joins the matching slices.

``count`` semantics (documented for the loader): the number of records matching every filter of
the request *including* ``starting_after``, i.e. the first page's count is the total of the
window and a later page's count is how many records remain from that page on. This mirrors a
Django REST framework list view, where the cursor is just another queryset filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from wsframes.fake import render
from wsframes.schema import ACTIVITY_SCHEMA

__all__ = ["VERIFICATION_CATEGORIES", "Page", "PlanStore", "Query"]

#: verification_category -> host-name substrings that put a record in that category.
VERIFICATION_CATEGORIES: dict[str, tuple[str, ...]] = {
    "requests_to_authentication_pages": ("accounts.", "login"),
    "requests_to_financial_institutions": ("bank",),
}


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed activity query; bounds are microseconds since the epoch, inclusive."""

    gte: int | None = None
    lte: int | None = None
    starting_after: int | None = None
    search: str | None = None
    error_reason: str | None = None
    bytes_gte: int | None = None
    bytes_lte: int | None = None
    verification_category: str | None = None

    @property
    def filtered(self) -> bool:
        """Whether a scan is needed beyond bisecting the time range."""
        return any(
            v is not None
            for v in (self.search, self.error_reason, self.bytes_gte, self.bytes_lte,
                      self.verification_category)
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One answer: ``body`` is the JSON of the results joined by commas (no brackets)."""

    count: int
    body: bytes
    n: int
    last_timestamp: str | None
    has_next: bool


class PlanStore:
    """Records of one plan, sorted newest first, pre-rendered for the given time zone."""

    def __init__(self, df: pl.DataFrame, tz: str) -> None:
        self.tz = tz
        self._load(df)

    def _load(self, df: pl.DataFrame) -> None:
        if df.schema != ACTIVITY_SCHEMA:
            df = df.select(list(ACTIVITY_SCHEMA)).cast(ACTIVITY_SCHEMA)
        truth = df.sort("timestamp", maintain_order=True)
        self.truth = truth
        desc = truth.reverse()
        self.frame = desc
        self.neg_ts = -desc["timestamp"].cast(pl.Int64).to_numpy()  # ascending, for bisect
        self.ts_text = render.render_timestamps(desc["timestamp"], self.tz).to_list()
        json = render.render_json(desc, self.tz) + ","
        self.buf = "".join(json.to_list()).encode()
        self.off = render.offsets(json.str.len_bytes().to_numpy())
        self._csv: tuple[bytes, np.ndarray] | None = None

    def add(self, df: pl.DataFrame) -> None:
        """Add late-arriving records (re-sorts and re-renders the plan)."""
        self._load(pl.concat([self.truth, df.select(list(ACTIVITY_SCHEMA)).cast(ACTIVITY_SCHEMA)]))

    def __len__(self) -> int:
        return len(self.neg_ts)

    def time_range(self, q: Query) -> tuple[int, int]:
        """Index range [i0, i1) in newest-first order satisfying the time bounds and cursor."""
        n = len(self.neg_ts)
        i0 = 0 if q.lte is None else int(np.searchsorted(self.neg_ts, -q.lte, "left"))
        i1 = n if q.gte is None else int(np.searchsorted(self.neg_ts, -q.gte, "right"))
        if q.starting_after is not None:
            i0 = max(i0, int(np.searchsorted(self.neg_ts, -q.starting_after, "right")))
        return i0, max(i0, i1)

    def matching(self, q: Query) -> np.ndarray:
        """Indices (newest-first order) of every record matching *q*."""
        i0, i1 = self.time_range(q)
        if not q.filtered:
            return np.arange(i0, i1)
        part = self.frame.slice(i0, i1 - i0)
        mask = part.select(_filter_expr(q)).to_series().fill_null(False).to_numpy()
        return np.flatnonzero(mask) + i0

    def page(self, q: Query, size: int) -> Page:
        """The page of at most *size* records answering *q*."""
        if not q.filtered:
            i0, i1 = self.time_range(q)
            j = min(i0 + size, i1)
            body = self.buf[self.off[i0] : max(self.off[j] - 1, self.off[i0])]
            last = self.ts_text[j - 1] if j > i0 else None
            return Page(i1 - i0, body, j - i0, last, j < i1)
        idx = self.matching(q)
        chosen = idx[:size]
        body = b",".join(self.buf[self.off[k] : self.off[k + 1] - 1] for k in chosen)
        last = self.ts_text[chosen[-1]] if len(chosen) else None
        return Page(len(idx), body, len(chosen), last, len(idx) > size)

    def csv_lines(self, idx: np.ndarray) -> bytes:
        """The CSV lines (newest first, each ending in CRLF) of the given records."""
        if self._csv is None:
            lines = render.render_csv_lines(self.frame, self.tz) + "\r\n"
            self._csv = ("".join(lines.to_list()).encode(), render.offsets(lines.str.len_bytes().to_numpy()))
        buf, off = self._csv
        if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
            return buf[off[idx[0]] : off[idx[-1] + 1]]
        return b"".join(buf[off[k] : off[k + 1]] for k in idx)


def _filter_expr(q: Query) -> pl.Expr:
    """The Polars predicate of the non-time filters of *q*."""
    cond = pl.lit(True)
    if q.search is not None:
        cond &= pl.col("hostname").str.to_lowercase().str.contains(q.search.lower(), literal=True)
    if q.error_reason == "*":
        cond &= pl.col("error_reason").is_not_null()
    elif q.error_reason is not None:
        cond &= pl.col("error_reason").cast(pl.String) == q.error_reason
    if q.bytes_gte is not None:
        cond &= pl.col("bytes") >= q.bytes_gte
    if q.bytes_lte is not None:
        cond &= pl.col("bytes") <= q.bytes_lte
    if q.verification_category is not None:
        host = pl.col("hostname").str.to_lowercase()
        hit = pl.lit(False)
        for needle in VERIFICATION_CATEGORIES[q.verification_category]:
            hit |= host.str.contains(needle, literal=True)
        cond &= hit
    return cond
