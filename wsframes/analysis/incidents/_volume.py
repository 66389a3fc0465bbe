"""Volume incidents: a segment's requests fall to half of usual or less (``volume_drop``), or the
bytes through it rise to twice usual or more (``bandwidth_surge``), for a sustained stretch.

**Usual.** Traffic follows the clock, so a bucket's usual requests (or bytes) is the median of
the same local time of day on the other days of the same kind (weekday or weekend), as for
traffic gaps (:mod:`._events`), pooled over the baseline and the period itself with the bucket's
own day left out; it needs :data:`MIN_DAYS` such days, else the bucket is not judged (so a
week alone judges no weekend: that takes two weeks or a baseline). A median of days shrugs off
one odd day, and a change on one day cannot hide itself. Buckets where the whole account has no
request are missing data (a gap, :mod:`._events`), neither judged nor part of any median. Bytes
count each request up to the reference's 99.9th percentile (``BYTES_CAP`` in the package), so one
huge download makes no surge and hides none.

**Chance.** A bucket is *low* when it holds at most :data:`DROP` of its usual requests, *high*
when its bytes are at least :data:`SURGE` times their usual. How often that happens by chance,
``p0``, is counted per segment over every judged bucket of the baseline and the period against
the same median (Laplace-smoothed and never below :data:`P0_FLOOR`): Poisson noise, bursts,
over-dispersion and heavy-tailed downloads enter as they are, with no model of them to be wrong.
Only buckets usually holding :data:`MIN_BUCKET_REQUESTS` requests are judged, and only segments
averaging that many are tested.

**Test.** Windows of :data:`SCALES` buckets at every offset are hypotheses; a window must show the
minimum effect as a whole (its requests at most :data:`DROP` of usual, its bytes at least
:data:`SURGE` times) and its count of low (high) buckets is tested by the binomial tail given
``p0``. Benjamini-Hochberg runs over every window tested of both kinds at the caller's level. A
segment's significant windows are merged, and the run's edges are those of the maximum
log-likelihood stretch of a shift in each bucket's log ratio to usual (:func:`_edges`). A drop
must have fallen from a level: as long a stretch before it, not low as a whole (lows from the
start of the data are as likely a segment growing through the period). Runs of several segments
that overlap in time are one incident, named by the narrowest segment carrying at least
:data:`SAME_CHANGE` of the biggest run's change (missing requests, extra bytes) without holding
:data:`MAX_SEGMENT_SHARE` of the account's volume, else the account.

Both are looked for on the demand side only (:data:`DEMAND`: the account, domains, hosts,
clients, target ports, protocols, plans and sub-users): the traffic through one proxy moves
whenever the pool rotates or replaces it.

What it sees (hourly buckets): with ``p0`` at its floor a window needs about 8 low (high)
buckets. The tests find, at ~300 requests an hour over one week, a 12-hour drop to 35% of the
account, of a client or of a domain carrying ~40 requests an hour, and a 12-hour 3x surge of
the account's bytes (of a client's at ~800 an hour); a drop to 70%, a 1.5x surge or a 2-hour
drop raise nothing. The scenarios plant drops of >= 60% on segments of >= 30 requests an hour
and surges of >= 3x on segments of >= 60, for >= 12 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import binom

from wsframes.analysis.incidents._attribute import MAX_SEGMENT_SHARE
from wsframes.analysis.incidents._cells import ALL, DIMENSIONS, ERROR_REASON
from wsframes.analysis.incidents._scan import _max_subarray
from wsframes.analysis.incidents._season import MIN_DAYS, time_slot
from wsframes.analysis.incidents._stats import benjamini_hochberg

#: A low bucket holds at most this share of its usual requests; a high one this many times its bytes.
DROP, SURGE = 0.5, 2.0
#: Window lengths, in buckets (a single odd bucket is no incident).
SCALES = (4, 8, 16, 32, 64)
#: The smallest chance of a low (high) bucket assumed for any segment.
P0_FLOOR = 0.05
#: Usual requests a bucket needs to be judged (fewer are all noise).
MIN_BUCKET_REQUESTS = 10
#: Share of the biggest overlapping run's change a narrower segment must carry to be named.
SAME_CHANGE = 0.8
#: Where volume is news: the demand side. Traffic through one proxy moves whenever the pool
#: rotates or replaces it (half a week on a new proxy doubles its usual), not the user's traffic.
DEMAND = (ALL, "domain", "hostname", "client_address", "port", "protocol", "plan_id", "subuser_id")
#: Kind, cell column and whether the change is a fall.
KINDS = (("volume_drop", "n", True), ("bandwidth_surge", "by", False))
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class _Grid:
    """Every tested segment's counts per bucket, baseline buckets first, then the period's."""

    segments: pl.DataFrame  # sid, dimension, value, in row order
    times: pl.Series  # bucket starts (UTC)
    current: np.ndarray  # bool per bucket: in the period (else the baseline)
    x: dict[str, np.ndarray]  # column -> segments x buckets
    usual: dict[str, np.ndarray]  # column -> the leave-one-day-out medians (nan: not judged)


def volume_runs(
    current: pl.DataFrame, previous: pl.DataFrame | None, *, tz: str, step: timedelta, alpha: float
) -> list[dict[str, Any]]:
    """Volume incidents of the period: ``kind, metric, start, end, dimension, value, observed,
    expected, q, explained`` (observed and expected summed over the window, cells' units)."""
    grid = _grid(current, previous, tz=tz, step=step)
    if grid is None:
        return []
    candidates, p_all, tested = [], [], 0
    for kind, column, fall in KINDS:
        flags, judged = _flags(grid, column, fall)
        p0 = np.maximum((flags.sum(1) + 1) / (judged.sum(1) + 2), P0_FLOOR)
        windows, m = _windows(grid, column, fall, flags, judged, p0)
        tested += m
        candidates += [(kind, column, fall, p0, flags, judged, w) for w in windows]
        p_all += [w[3] for w in windows]
    if not candidates:
        return []
    q = benjamini_hochberg(np.array(p_all), tested)
    significant = [(c, qv) for c, qv in zip(candidates, q, strict=True) if qv < alpha]
    runs = _runs(grid, significant, step)
    return [_explain(cluster, grid) for cluster in _clusters(runs)]


def _grid(current: pl.DataFrame, previous: pl.DataFrame | None, *, tz: str, step: timedelta) -> _Grid | None:
    # Lazily: only the busy demand segments' cells, and the columns read, are ever copied.
    rated = current.lazy().filter(pl.col("dimension") != ERROR_REASON)
    first: Any
    last: Any
    first, last = rated.select(pl.col("t").min().alias("lo"), pl.col("t").max().alias("hi")).collect().row(0)
    if first is None:
        return None
    buckets = int((last - first) / step) + 1
    demand = rated.filter(pl.col("dimension").is_in(DEMAND))
    busy = demand.group_by("sid", "dimension", "value").agg(pl.col("n").sum()).collect()
    segments = busy.filter(pl.col("n") >= MIN_BUCKET_REQUESTS * buckets).drop("n").sort("sid")
    if segments.is_empty():
        return None
    cur = (
        demand.filter(pl.col("sid").is_in(segments["sid"].implode())).select("sid", "t", "n", "by").collect()
    )
    spans = [(cur, first, buckets)]
    if previous is not None and not previous.is_empty():
        base = previous.drop("sid").join(segments, on=["dimension", "value"])
        b0: Any = previous["t"].min()
        b1: Any = previous["t"].max()
        if not base.is_empty():
            spans.insert(0, (base, b0, int((b1 - b0) / step) + 1))
    row = {sid: i for i, sid in enumerate(segments["sid"])}
    times, parts = [], []
    x: dict[str, list[np.ndarray]] = {c: [] for _, c, _ in KINDS}
    for cells, start, count in spans:
        times.append(pl.datetime_range(start, start + (count - 1) * step, step, eager=True))
        parts.append(np.full(count, cells is cur))
        rows = cells["sid"].replace_strict(row, default=-1).to_numpy()
        us = step // timedelta(microseconds=1)
        cols = ((cells["t"] - start).dt.total_microseconds() // us).to_numpy()
        keep = rows >= 0
        for _, column, _ in KINDS:
            matrix = np.zeros((len(row), count))
            np.add.at(matrix, (rows[keep], cols[keep]), cells[column].fill_null(0).to_numpy()[keep])
            x[column].append(matrix)
    stamps = pl.concat(times)
    xs = {c: np.hstack(m) for c, m in x.items()}
    # A bucket without a single request is missing data (a gap), not a day of zeros to expect.
    absent = xs["n"][(segments["dimension"] == ALL).to_numpy()].sum(0) == 0
    for m in xs.values():
        m[:, absent] = np.nan
    slot, day = _calendar(stamps, tz, step)
    usual = {c: _usual(m, slot, day, absent) for c, m in xs.items()}
    return _Grid(segments, stamps, np.concatenate(parts), xs, usual)


def _calendar(stamps: pl.Series, tz: str, step: timedelta) -> tuple[np.ndarray, np.ndarray]:
    """Each bucket's slot (local time of day x weekday/weekend) and local day; without a daily
    rhythm (buckets of a day or more, or not dividing one) each bucket is its own day."""
    if step >= _DAY or _DAY % step:
        return np.zeros(len(stamps), dtype=np.int64), np.arange(len(stamps))
    local = stamps.dt.convert_time_zone(tz)
    return time_slot(local, step, weekly=True).to_numpy(), local.dt.date().cast(pl.Int64).to_numpy()


def _usual(x: np.ndarray, slot: np.ndarray, day: np.ndarray, absent: np.ndarray) -> np.ndarray:
    """Per bucket, the median of the same slot on the other days (nan with fewer than MIN_DAYS)."""
    out = np.full(x.shape, np.nan)
    for s in np.unique(slot):
        cols = np.flatnonzero((slot == s) & ~absent)
        for d in np.unique(day[cols]):
            others = cols[day[cols] != d]
            if len(np.unique(day[others])) >= MIN_DAYS:
                out[:, cols[day[cols] == d]] = np.median(x[:, others], axis=1, keepdims=True)
    return out


def _flags(grid: _Grid, column: str, fall: bool) -> tuple[np.ndarray, np.ndarray]:
    """Low (or high) buckets, and the buckets judged at all (usually busy enough)."""
    x, usual = grid.x[column], grid.usual[column]
    judged = (np.nan_to_num(grid.usual["n"]) >= MIN_BUCKET_REQUESTS) & ~np.isnan(x)
    with np.errstate(invalid="ignore"):
        flags = (x <= DROP * usual) if fall else (x >= SURGE * usual)
    return flags & judged, judged


def _windows(
    grid: _Grid, column: str, fall: bool, flags: np.ndarray, judged: np.ndarray, p0: np.ndarray
) -> tuple[list[tuple[int, int, int, float]], int]:
    """Windows of the period showing the minimum effect, ``(segment row, i0, i1, p)``, and the
    number of windows tested."""
    cur = np.flatnonzero(grid.current)
    lo = cur[0]
    x, usual = grid.x[column][:, cur], np.nan_to_num(grid.usual[column][:, cur])
    judged, flags = judged[:, cur], flags[:, cur]
    sums = {name: np.cumsum(np.pad(np.where(judged, a, 0), ((0, 0), (1, 0))), axis=1) for name, a in
            (("x", x), ("e", usual), ("k", flags), ("w", judged))}  # fmt: skip
    out, tested = [], 0
    for scale in SCALES:
        if scale > len(cur):
            break
        part = {name: s[:, scale:] - s[:, :-scale] for name, s in sums.items()}
        w, k, o, e = part["w"], part["k"], part["x"], part["e"]
        testable = w >= scale // 2
        with np.errstate(invalid="ignore", divide="ignore"):
            shows = (o <= DROP * e) if fall else (o >= SURGE * e)
        shows &= testable & (e > 0) & (k >= scale // 2)
        tested += int(testable.sum())
        rows, starts = np.nonzero(shows)
        p = binom.sf(k[rows, starts] - 1, w[rows, starts], p0[rows])
        out += [(int(r), int(lo + i), int(lo + i + scale), float(pv))
                for r, i, pv in zip(rows, starts, p, strict=True)]  # fmt: skip
    return out, tested


def _runs(grid: _Grid, significant: list[tuple[Any, float]], step: timedelta) -> list[dict[str, Any]]:
    """Significant windows merged per segment and kind, edges refined, with their sums."""
    by: dict[tuple[str, int], list[tuple[Any, float]]] = {}
    for cand, q in significant:
        by.setdefault((cand[0], cand[-1][0]), []).append((cand, q))
    runs = []
    for (kind, row), items in by.items():
        items.sort(key=lambda item: item[0][-1][1])
        spans: list[list[Any]] = []
        for cand, q in items:
            i0, i1 = cand[-1][1], cand[-1][2]
            if spans and i0 <= spans[-1][1]:
                spans[-1][1], spans[-1][2] = max(spans[-1][1], i1), min(spans[-1][2], q)
            else:
                spans.append([i0, i1, q, cand])
        for i0, i1, q, cand in spans:
            run = _run(grid, kind, row, i0, i1, q, cand, step)
            if kind != "volume_drop" or _fell(grid, cand, row, run["lo"], run["hi"]):
                runs.append(run)
    return runs


def _fell(grid: _Grid, cand: Any, row: int, lo: int, hi: int) -> bool:
    """Whether a drop ``[lo, hi)`` fell from a level: as many judged buckets before it as in it,
    together above :data:`DROP` of their usual. Lows from the start of the data are as likely a
    segment growing through the period (a domain's share rising all week) as a drop."""
    judged = cand[5][row]
    before = np.flatnonzero(judged[:lo])[-max(int(judged[lo:hi].sum()), 1) :]
    if len(before) < judged[lo:hi].sum():
        return False
    column = cand[1]
    return bool(grid.x[column][row, before].sum() > DROP * grid.usual[column][row, before].sum())


def _run(
    grid: _Grid, kind: str, row: int, i0: int, i1: int, q: float, cand: Any, step: timedelta
) -> dict[str, Any]:
    """One segment's run, its edges those of the stretch most likely shifted (see :func:`_edges`)."""
    column, fall, judged = cand[1], cand[2], cand[5]
    lo, hi = _edges(grid.x[column][row, i0:i1], grid.usual[column][row, i0:i1], judged[row, i0:i1])
    lo, hi = i0 + lo, i0 + hi
    seg = grid.segments.row(row, named=True)
    return {
        "kind": kind,
        "metric": "requests" if fall else "bytes",
        "start": grid.times[lo],
        "end": grid.times[hi - 1] + step,
        "dimension": seg["dimension"],
        "value": seg["value"],
        "q": q,
        **_change(grid, column, row, lo, hi),
        "row": row,
        "lo": lo,
        "hi": hi,
        "column": column,
    }


def _edges(x: np.ndarray, usual: np.ndarray, judged: np.ndarray) -> tuple[int, int]:
    """``[lo, hi)`` of the maximum log-likelihood stretch of a shift in log ratio to usual.

    The flags only say low or not; the edges use how low: each bucket's ``y = log(ratio)``
    against a shift ``mu`` (the stretch's median), Gaussian log-likelihood ratio ``mu (y - mu/2)``
    with ``y`` clipped to ``[-2|mu|, 2|mu|]`` so one huge download weighs as one strong bucket.
    """
    y = np.log((x + 1) / (np.nan_to_num(usual) + 1))
    a, b = 0, len(x) - 1
    for _ in range(4):  # the shift depends on the edges and the edges on it: a few rounds settle
        inside = y[a : b + 1][judged[a : b + 1]]
        mu = float(np.median(inside)) if len(inside) else 0.0
        if mu == 0:
            break
        llr = np.where(judged, mu * (np.clip(y, -2 * abs(mu), 2 * abs(mu)) - mu / 2), 0.0)
        a, b = _max_subarray(llr)
    return a, b + 1


def _change(grid: _Grid, column: str, row: int, lo: int, hi: int) -> dict[str, Any]:
    """The window's typical ratio to usual (the median bucket's: one huge download is not a
    surge), the change it makes on the usual total, and the segment's share of the account."""
    usual = np.nan_to_num(grid.usual[column][row, lo:hi])
    x = grid.x[column][row, lo:hi]
    ratio = float(np.median(x[usual > 0] / usual[usual > 0])) if (usual > 0).any() else 1.0
    requests = np.nan_to_num(grid.usual["n"][:, lo:hi]).sum(1)
    account = grid.segments["dimension"].to_numpy() == ALL
    return {
        # Summed over the buckets that have a usual, like the expectation.
        "observed": float(np.nansum(x[usual > 0])) if column == "n" else ratio * float(usual.sum()),
        "expected": float(usual.sum()),
        "change": abs(ratio - 1) * float(usual.sum()),
        "share": float(requests[row] / max(requests[account].sum(), 1e-9)),
    }


def _clusters(runs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Runs of one kind that overlap in time: one change seen through many segments."""
    out: list[list[dict[str, Any]]] = []
    for run in sorted(runs, key=lambda r: (r["kind"], r["start"])):
        last = out[-1] if out else None
        if last and last[0]["kind"] == run["kind"] and run["start"] < max(r["end"] for r in last):
            last.append(run)
        else:
            out.append([run])
    return out


def _explain(cluster: list[dict[str, Any]], grid: _Grid) -> dict[str, Any]:
    """The narrowest segment carrying the cluster's change, else the account (each judged over
    the whole cluster's span, so runs with different edges compare alike)."""
    lo, hi = min(r["lo"] for r in cluster), max(r["hi"] for r in cluster)
    cluster = [{**r, **{k: v for k, v in _change(grid, r["column"], r["row"], lo, hi).items()
                        if k in ("change", "share")}} for r in cluster]  # fmt: skip
    biggest = max(r["change"] for r in cluster)
    account = next((r for r in cluster if r["dimension"] == ALL), None)
    narrow = [r for r in cluster if r["dimension"] != ALL and r["change"] >= SAME_CHANGE * biggest
              and r["share"] <= MAX_SEGMENT_SHARE]  # fmt: skip
    if narrow:
        order = {d: i for i, d in enumerate(DIMENSIONS)}
        chosen = min(narrow, key=lambda r: (round(r["share"], 3), order.get(r["dimension"], len(order))))
    else:
        chosen = account or max(cluster, key=lambda r: r["change"])
    return {**chosen, "explained": min(chosen["change"] / max(biggest, 1e-9), 1.0)}
