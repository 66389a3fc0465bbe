"""Incidents: what went wrong, where, since when, how big against usual, and what to do.

:func:`find_incidents` turns an activity frame into one row per incident, ranked by impact.

Method
------
1. **Counts, not rows.** Requests are bucketed (``every``, default one hour) and counted per
   segment of every dimension (domain, hostname, listen address and port, proxy address and its
   /24, client address, target port, protocol; and where the frame has them, the plan, the
   sub-user, the proxy's network and country added by :func:`~wsframes.analysis.enrich`) and per
   error code: requests, failures, and slow requests (request time above the reference p95).
2. **Exact tests with real sampling error.** Each cell is tested against its segment's usual rate
   (the ``baseline`` frame when given, else the rest of the period, at the same time of day when
   there is enough history: see Seasonality below) by Fisher's exact
   (hypergeometric) test, so limits widen for small segments as in a funnel plot (Spiegelhalter,
   *Stat. Med.* 24, 2005). Latency is tested the distribution-free way: the share of requests
   above the reference p95 is binomial whatever the latency distribution, so a rising count is
   an order-statistic test of a quantile shift; no p95 is ever computed from a handful of requests
   to decide anything. **Over-dispersion** (real hours vary more than binomial: bursts, an
   hour's failure share drawn around its usual one) is estimated per dimension from the
   one-bucket cells themselves: ``phi`` = median of the squared Pearson residuals
   ``(k - n p0)**2 / (n p0 (1 - p0))`` around each cell's usual rate (of its time of day when
   seasonal), over cells expecting >= 2 events and >= 2 non-events, divided by 0.455 (the median
   of a chi-square with one degree of freedom), at least 1; a median, so the incidents being
   looked for barely move it. A dimension with fewer than 30 such cells borrows the largest
   ``phi`` of the others. It is used as the quasi-binomial effective sample size: every count of
   the dimension's tests (window and reference) is divided by ``phi`` before the exact test, so
   the same shares weigh as ``1 / phi`` as many independent requests (:mod:`._stats`).
3. **False alarms under budget.** Benjamini-Hochberg (1995) at ``false_alarm_rate`` runs over
   every cell of every segment and metric; when nothing is wrong this bounds the chance of any
   incident by ``false_alarm_rate`` (expected false incidents per call: at most ~0.01 by
   default). It runs again over the incidents (each its cells' smallest p-value, against every
   cell tested): one real incident echoed by hundreds of cells would otherwise raise the level
   of every other test, as BH's level grows with its discoveries. A cell must also be big
   enough to matter: failure share up by at least :data:`MIN_ERROR_DELTA` and 1.5x, slow share
   up by :data:`MIN_SLOW_DELTA` and 2x, and at least :data:`MIN_EXCESS` extra events; one noisy
   bucket cannot pass all of that by chance.
4. **Persistence for the edges.** A significant cell grows into a run over neighbouring buckets
   that are nominally significant (p < 0.01), so ``start`` is where the change began.
5. **Attribution.** Runs that overlap in time are one incident; the segment named is chosen as in
   Adtributor (Bhagwan et al., NSDI 2014): it must carry at least half of the account-wide excess
   (explanatory power) and be the most surprising (Jensen-Shannon divergence of its expected and
   observed share). When no segment stands out, the whole account (``all``) is affected. The
   segment is then narrowed to a **conjunction** (``domain & client_address`` =
   ``shop.example.org & 203.0.113.10``) when, inside the incident, one value of another dimension
   carries >= 80% of the excess on <= 80% of the segment's requests and the rest of the segment
   shows no rise (the pair search of iDice, Lin et al., ICSE 2016, and DIFF, Abuzaid et al.,
   VLDB 2018, limited to the values of one found incident, so it adds no hypotheses).
6. **Gaps and new codes** (see :mod:`._events`): empty runs against a same-hour-of-day, same
   kind-of-day median; codes whose every occurrence falls after a point, tested exactly. New
   codes are found first, and the rates are tested on the requests without them (counted
   again): a new code raises every segment it touches until the end of the period, echoes that
   would be error bursts of their own and would hide a later burst among them.
7. **Volume** (see :mod:`._volume`): a segment's requests at most half of the same hours' median
   on other days (a volume drop), or its bytes at least twice it (a bandwidth surge), sustained:
   the count of such buckets in a window is tested against how often the segment has them by
   chance, under its own share of the budget (``false_alarm_rate`` / 10). Found at ~300 requests an
   hour over a week: a 12-hour drop to 40% of the account or of a client carrying ~40 an hour,
   a 12-hour 3x surge of the account's bytes; a drop to 70% raises nothing.

What it can see (hourly buckets). A window must show a failure share up by >= 5 points and
1.5x, or a slow share up by >= 10 points and 2x, with >= 5 extra events, and pass the BH level;
how long it must last then depends on volume. The tests check detection (right segment, edges
within one bucket) at ~300 requests an hour: a 3-hour burst of 70%
failures on a domain carrying ~10 requests an hour, a 24-hour 4x slowdown of one proxy server
carrying ~15 (at ~8 its end can land two buckets late), a 3-hour burst of one code in 35% of
all requests, a 6-hour 80% burst on one client's requests to one domain; gaps need ~30 expected
requests, a new code 5 occurrences late enough in the data.

Seasonality (:mod:`._season`). With >= 3 days of history (in *df*, or in the baseline when
given) and buckets that divide a day, a cell's usual failure or slow share is that of the same
time of day on the other days (pooled counts, its own day left out), and from >= 14 days the
same time of day on the same kind of day (weekday or weekend). A segment has its own profile
when its slots hold >= 10 events on average over a median of >= 3 days; a smaller segment keeps
the whole-period rate (its power), raised by the account's time-of-day factor where the
account's rate is above its mean (never lowered). Windows are tested against the sum of their
cells' expectations, with the other days' requests in the same slots as the reference sample;
the over-dispersion is measured around that reference. Tested: failures at 6% at night and 25%
from 09:00 to 17:00 (every day from 4 days of history, every weekday over 14 and 21 days) raise
nothing, and a 3-hour 70% burst on a domain of ~10 requests an hour on top of that cycle is
found with its edges. With less history, or buckets of a day or more, shares are compared with
the whole period: a cycle smaller than 1.5x and +5 points (failures) or 2x and +10 points
(slow requests) cannot alarm, a stronger one can at its peaks. The traffic-gap baseline, where
volume is the metric, respects hour of day and weekday/weekend too (:mod:`._events`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from wsframes.analysis._engines import EngineFrame
from wsframes.analysis._frames import Frame, FrameLike, as_lazy, check_every, finish, require_columns
from wsframes.analysis._quantile import scan_quantiles
from wsframes.analysis.incidents._attribute import AND, clusters, explain, narrow_to_pair, segment, widen
from wsframes.analysis.incidents._cells import (
    ALL,
    DIMENSIONS,
    ERROR_REASON,
    OPTIONAL_DIMENSIONS,
    PHASES,
    cells,
    prepare,
    with_derived,
)
from wsframes.analysis.incidents._events import new_codes, seasonal_gaps
from wsframes.analysis.incidents._scan import runs, window_times, windows
from wsframes.analysis.incidents._season import around_usual, seasonal
from wsframes.analysis.incidents._stats import benjamini_hochberg, dispersion, p_values, reference, squared_z
from wsframes.analysis.incidents._volume import volume_runs
from wsframes.api.progress import relay_step
from wsframes.errors import ConfigurationError
from wsframes.timeutil import check_tz

__all__ = ["AND", "INCIDENT_SCHEMA", "MIN_ERROR_DELTA", "MIN_EXCESS", "MIN_SLOW_DELTA", "find_incidents"]

MIN_ERROR_DELTA, MIN_SLOW_DELTA, MIN_EXCESS = 0.05, 0.10, 5
_ONE_BUCKET = 1e-4
#: Minimum rise (points, ratio) of each metric's rate over its usual one.
_EFFECT = {"error_rate": (MIN_ERROR_DELTA, 1.5), "slow_share": (MIN_SLOW_DELTA, 2.0)}
#: The tested metrics: name, the cells' event count, the incident kind and (latency) the phase.
_METRICS = (
    ("error_rate", "f", "error_burst", None),
    *(("slow_share", key, "latency_regression", column) for key, column in PHASES.items()),
)
#: Requests a rate incident needs before its share is printed (a share of 17 requests is noise).
MIN_FOR_RATE = 30

#: Columns of :func:`find_incidents`' result.
_COLUMNS: dict[str, Any] = {
    "kind": pl.String,
    "metric": pl.String,
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "dimension": pl.String,
    "value": pl.String,
    "error_reason": pl.String,
    "observed": pl.Float64,
    "expected": pl.Float64,
    "requests": pl.Int64,
    "requests_affected": pl.Int64,
    "q_value": pl.Float64,
    "explained_share": pl.Float64,
    "how_to_fix": pl.String,
}
INCIDENT_SCHEMA = pl.Schema(_COLUMNS)
_NEEDED = (
    "timestamp",
    "error_reason",
    "bytes",
    *PHASES.values(),
    *(d for d in DIMENSIONS if d != "proxy_net" and d not in OPTIONAL_DIMENSIONS),
)


def find_incidents(
    df: Frame,
    *,
    baseline: FrameLike | None = None,
    tz: str = "UTC",
    every: str | timedelta = "1h",
    false_alarm_rate: float = 0.01,
    p95: Mapping[str, float | None] | None = None,
) -> Frame:
    """Incidents in an activity frame, most requests affected first (method: module docstring).

    Parameters
    ----------
    df : polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        Activity (:data:`wsframes.schema.ACTIVITY_SCHEMA`).
    baseline : frame, optional
        A period known to be usual (e.g. the previous one); without it each segment is compared
        with the rest of *df*.
    tz : str
        Time zone of the buckets and of the hour-of-day seasonality of traffic.
    every : str or timedelta
        Bucket width (``"15m"``, ``"1h"``, ``"1d"``...).
    false_alarm_rate : float
        Chance of reporting anything on data where nothing changed (Benjamini-Hochberg level).
    p95 : mapping, optional
        The reference's p95 (Polars' ``"linear"``) of ``request_duration``, ``handshake_duration``
        and ``tunnel_duration`` when already known (a report's headline has them): a request is
        slow in a phase above it. The search then does not read them again; missing ones it reads.

    Returns
    -------
    Same kind as *df*, columns :data:`INCIDENT_SCHEMA`: ``kind`` (``error_burst``,
    ``latency_regression``, ``traffic_gap``, ``new_error_code``, ``volume_drop``,
    ``bandwidth_surge``), ``metric``, ``start``, ``end``
    (UTC; ``end`` null when still ongoing in the last bucket), ``dimension`` and ``value`` of the
    segment (``all``/``all`` for the whole account), ``error_reason`` (the dominant code),
    ``observed`` and ``expected`` (per ``metric``: ``error_rate`` a share of requests;
    ``handshake_duration_p95``, ``tunnel_duration_p95`` or ``request_duration_p95`` the phase's
    p95 in seconds, each phase tested on its own share of slow requests; ``requests`` a count, for
    a drop the rows seen and the rows usual at those hours; ``bytes`` for a surge, the usual bytes
    and the window's at its typical bucket's rise, so one huge download does not make a surge),
    ``requests`` in the segment and window, ``requests_affected`` (excess
    failures, slow requests or missing requests; a surge's requests), ``q_value`` (BH-adjusted p-value),
    ``explained_share`` (share of the account-wide excess in the segment) and ``how_to_fix``.

    Examples
    --------
    >>> from wsframes.fake import generate_activity
    >>> df = generate_activity(20_000, start="2026-11-02", end="2026-11-09", seed=3)
    >>> find_incidents(df).height
    0
    """
    lf, kind = as_lazy(df, func="find_incidents")
    require_columns(lf, _NEEDED, func="find_incidents")
    tz, step = check_tz(tz).key, _step(every)
    if not 0 < false_alarm_rate < 0.5:
        raise ConfigurationError(f"false_alarm_rate must be in (0, 0.5), not {false_alarm_rate!r}.")
    base_lf, base_engine = None, None
    if baseline is not None:
        base_lf, base_kind = as_lazy(baseline, func="find_incidents")
        base_engine = base_kind.engine
        require_columns(base_lf, _NEEDED, func="find_incidents")
    known = _known_p95(p95)
    out = _find(
        lf, base_lf, tz=tz, step=step, alpha=false_alarm_rate, engines=(kind.engine, base_engine), known=known
    )
    return finish(out.lazy(), kind)


#: Each request's bytes count up to this quantile of the reference's (``bandwidth_surge``).
BYTES_CAP = 0.999
#: Requests a window needs before its p95 is a figure: 5 expected above it, 5 / (1 - 0.95) = 100.
MIN_FOR_P95 = 100


def _step(every: str | timedelta) -> timedelta:
    """The bucket width as a timedelta (calendar units such as months are refused)."""
    checked = check_every(every)
    if isinstance(checked, timedelta):
        return checked
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    match = re.fullmatch(r"(\d+)([mhdw])", checked)
    if not match or int(match[1]) == 0:
        raise ConfigurationError(f"every must be minutes, hours, days or weeks such as '1h', not {every!r}.")
    return timedelta(**{units[match[2]]: int(match[1])})


def _find(
    lf: pl.LazyFrame,
    base: pl.LazyFrame | None,
    *,
    tz: str,
    step: timedelta,
    alpha: float,
    engines: tuple[EngineFrame | None, EngineFrame | None] = (None, None),
    known: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    # Segments may name derived columns (proxy_net, pairs of it) and optional ones: every frame has them.
    lf, base = with_derived(lf), None if base is None else with_derived(base)
    reference_lf = base if base is not None else lf
    slow_after = _cut_offs(reference_lf, known or {})
    if all(v is None for v in slow_after.values()):  # no data at all
        return pl.DataFrame(schema=INCIDENT_SCHEMA)
    count = partial(cells, every=step, tz=tz, slow_after=slow_after)
    current = count(lf, engine=engines[0])
    previous = None if base is None else count(base, engine=engines[1])
    last = current["t"].max()
    new = _new(current, previous, alpha * 0.1, last, step, lf)
    # Rates are tested beside the new codes: a new code raises every segment it touches for the
    # rest of the period, echoes that would be bursts of their own and hide a burst under them.
    rated, engine = _without(lf, engines[0], [r["value"] for r in new])
    prepared = prepare(rated, every=step, tz=tz, slow_after=slow_after)
    level = alpha * 0.8
    relay_step("incidents: testing segments")
    tested, units, m = _test(
        current if rated is lf else count(rated, engine=engine), previous, step, tz, level
    )
    found: list[dict[str, Any]] = []
    for metric, events, kind, _ in _METRICS:
        mine = tested.filter(pl.col("events") == events)
        unit = units[events]
        # Persistence or size: a window of one bucket alone must be overwhelming.
        seeds = mine.filter(
            (pl.col("q") < level) & ((pl.col("scale") > 1) | (pl.col("q") < level * _ONE_BUCKET))
        )
        if seeds.is_empty():
            continue
        for cluster in clusters(runs(seeds, unit, step)):
            p = cluster["p"].min()
            found.append({"kind": kind, "metric": metric, "events": events, **explain(cluster, unit), "p": p})
    # Benjamini-Hochberg again over incidents, not cells: one incident seen through hundreds of
    # cells (every segment echoes an account-wide slowdown) must not lift every other test's level.
    q = benjamini_hochberg(np.array([f["p"] for f in found]), m)
    found = [{**f, "q": qi} for f, qi in zip(found, q, strict=True) if qi < level]
    if found:
        relay_step(f"incidents: {len(found)} to describe")
    rows = [_describe(row, prepared, rated, base, step, last) for row in found]
    # A figure is printed only where it is held: a p95 with 5 requests expected above it, a share
    # from enough requests.
    held = {True: MIN_FOR_P95, False: MIN_FOR_RATE}
    rows = [r for r in rows if r["requests"] >= held[r["metric"].endswith("_p95")]]
    rows += _gaps(current, tz, step) + new
    volume = volume_runs(current, previous, tz=tz, step=step, alpha=alpha * 0.1)
    rows += [_describe_volume(run, lf, last) for run in volume]
    rows = _drop_doubles(rows)
    out = pl.DataFrame(rows, schema=INCIDENT_SCHEMA) if rows else pl.DataFrame(schema=INCIDENT_SCHEMA)
    return out.sort("requests_affected", descending=True, nulls_last=True)


def _known_p95(p95: Mapping[str, float | None] | None) -> dict[str, float]:
    """``find_incidents(p95=)`` checked, keyed like :data:`PHASES` (``s``, ``sh``, ``st``)."""
    if p95 is None:
        return {}
    unknown = set(p95) - set(PHASES.values())
    if unknown:
        raise ConfigurationError(
            f"p95= names {', '.join(sorted(unknown))}: give the p95 of {', '.join(PHASES.values())}."
        )
    return {key: float(v) for key, column in PHASES.items() if (v := p95.get(column)) is not None}


def _cut_offs(reference: pl.LazyFrame, known: Mapping[str, float]) -> dict[str, float | None]:
    """Each phase's slow cut-off (the reference's p95, from *known* where given) and the bytes' cap."""
    levels = {k: (c, 0.95) for k, c in PHASES.items() if k not in known} | {"by": ("bytes", BYTES_CAP)}
    relay_step("incidents: slow cut-offs")
    # Exact and out of core: Polars' own quantile would hold each column in memory.
    found_at = scan_quantiles(reference, {c: (q,) for c, q in levels.values()})
    return {**known, **{k: found_at[c][0] for k, (c, _) in levels.items()}}


#: The columns of a cell the rate tests read, beside its events ``k``.
_UNIT = ("dimension", "value", "t", "n", "sid")


#: Cells of one metric whose reference and windows are built at a time: the tests of a busy
#: month (hundreds of thousands of segments x hours) hold several working columns per cell.
TEST_CELLS = 2_000_000


def _test(
    current: pl.DataFrame, previous: pl.DataFrame | None, step: timedelta, tz: str, level: float
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], int]:
    """Candidate windows of both metrics with ``p`` and BH ``q`` over all tested; the unit cells
    of the segments that may pass the BH *level*; how many windows were tested.

    Every statistic but the dispersion is per segment, so the segments are tested in shares of
    about :data:`TEST_CELLS` cells, each with the account (the seasonal factor is the account's);
    the dispersion is the median over a dimension's cells, so the p-values wait until every
    share has been built once (:func:`_test_metric`).
    """
    parts, units, tested = [], {}, 0
    first: Any = current["t"].min()
    last: Any = current["t"].max()
    buckets = int((last - first) / step) + 1
    for metric, events, _, _ in _METRICS:
        # The error-code rows count failures only (null slow counts): the slow metrics drop them.
        cells = current.select(*_UNIT, k=pl.col(events)).drop_nulls("k")
        # The integer segment id ``sid`` of the cells: the scan groups and joins on it, not text.
        prev = (
            None if previous is None else previous.drop("sid").with_columns(k=pl.col(events)).drop_nulls("k")
        )
        found, m, kept = _test_metric(cells, prev, metric, tz, first, step, buckets, level)
        parts.append(found.with_columns(events=pl.lit(events)))
        units[events] = kept
        tested += m
        del cells
    out = pl.concat(parts, how="diagonal_relaxed")
    q = benjamini_hochberg(out["p"].to_numpy(), tested)
    return out.with_columns(q=pl.Series(q, dtype=pl.Float64)), units, tested


def _test_metric(
    cells: pl.DataFrame,
    prev: pl.DataFrame | None,
    metric: str,
    tz: str,
    first: Any,
    step: timedelta,
    buckets: int,
    level: float,
) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """One metric's windows with ``p``, how many were tested, and the kept unit cells.

    Each share is built once: its squared z-scores (for the dispersion) and its windows showing
    the minimum effect (which do not depend on the dispersion) are kept, the share is not. Once
    the dispersion is known, only the candidate segments' cells are built again, with the
    account: every reference is a segment's own (the seasonal factor the account's), so they
    come out the same.
    """
    count = -(-cells.height // TEST_CELLS)
    z2, scans, tested = [], [], 0
    for i in range(count):
        unit = _share(cells, i, count, prev, tz, step)
        z2.append(squared_z(around_usual(unit.lazy())).collect())
        scanned, m = windows(
            unit, first=first, step=step, buckets=buckets, min_events=MIN_EXCESS,
            effect=_EFFECT[metric], rest_of_period=prev is None,
        )  # fmt: skip
        scans.append(scanned.collect())
        tested += m
        del unit
    phi = dispersion(pl.concat(z2), cells["dimension"].unique())
    del z2
    segments = cells.lazy().select("sid", "dimension", "value").unique("sid")
    # The windows carry their reference K0/N0: flat or seasonal (:mod:`._season`).
    found = p_values(pl.concat(scans).lazy().join(segments, on="sid"), phi, _effect(metric))
    # Kept for refining edges and explaining clusters, which read only the candidate segments and
    # the account. A window's ``q`` is never below its ``p``, so a segment without a window of
    # ``p`` under the level has none.
    candidates = found.filter(pl.col("p") < level)["sid"].unique()
    picked = cells.filter((pl.col("dimension") == ALL) | pl.col("sid").is_in(candidates.implode()))
    shares = max(1, -(-picked.height // TEST_CELLS))  # in shares again: candidates may be most cells
    columns = ("dimension", "value", "t", "n", "k", "expected", "p0", "m")
    units = pl.concat([_share(picked, i, shares, prev, tz, step).select(columns) for i in range(shares)])
    return window_times(found, first=first, step=step), tested, units


def _share(
    cells: pl.DataFrame, i: int, count: int, prev: pl.DataFrame | None, tz: str, step: timedelta
) -> pl.DataFrame:
    """Share *i* of *count* with its reference (flat ``K0``/``N0``, ``expected``, then seasonal):
    the segments of ``sid % count == i``, built with the account's cells, which the seasonal
    factor reads, and tested with them in the first share only."""
    account = pl.col("dimension") == ALL
    share = cells if count == 1 else cells.filter(account | (pl.col("sid") % count == i))
    unit = reference(share, prev).with_columns(expected=pl.col("n") * pl.col("K0") / pl.col("N0"))
    unit = seasonal(unit, prev, tz=tz, step=step)
    return unit if i == 0 else unit.filter(~account)


def _without(
    lf: pl.LazyFrame, engine: EngineFrame | None, codes: list[str]
) -> tuple[pl.LazyFrame, EngineFrame | None]:
    """*lf* (and the caller's *engine* frame alike) without the requests that failed with *codes*."""
    if not codes:
        return lf, engine
    if engine is not None:
        other = nw.col("error_reason")
        kept = engine.nw.filter(other.is_null() | ~other.cast(nw.String).is_in(codes))
        engine = EngineFrame(engine.native, kept)
    code = pl.col("error_reason")
    return lf.filter(code.is_null() | ~code.cast(pl.String).is_in(codes)), engine


def _effect(metric: str) -> pl.Expr:
    """Big enough to matter: the minimum effect sizes of the module docstring."""
    rate, usual = pl.col("k") / pl.col("n"), pl.col("K0") / pl.col("N0")
    delta, ratio = _EFFECT[metric]
    return (
        (rate >= usual + delta) & (rate >= usual * ratio) & (pl.col("k") - pl.col("expected") >= MIN_EXCESS)
    )


def _describe(
    row: dict[str, Any],
    prepared: pl.LazyFrame,
    lf: pl.LazyFrame,
    base: pl.LazyFrame | None,
    step: timedelta,
    last: Any,
) -> dict[str, Any]:
    """Observed and expected values, the dominant code and its advice for one rate incident."""
    start, end = row["start"], row["end"]
    # The buckets' own test, and one on the raw time that a scan can push down to its files: a
    # bucket's rows lie after its start and within a step and an hour (a clock change) of it.
    inside = pl.col("t").is_between(start, end, closed="left") & _in(start, end + step + _HOUR)
    flag = "failed" if row["metric"] == "error_rate" else row["events"]
    dim, value = widen(row, prepared, inside, pl.col(flag))
    if dim == row["dimension"]:
        dim, value = narrow_to_pair(row, prepared, inside, pl.col(flag))
    seg = segment(dim, value) if dim != ERROR_REASON else pl.lit(True)
    rows = prepared.filter(seg & inside)
    code: str | None
    if dim == ERROR_REASON:
        code = value
    else:
        top = (
            rows.filter(pl.col("failed"))
            .group_by("error_reason")
            .len()
            .sort("len", descending=True)
            .head(1)
            .collect(engine="streaming")
        )
        code = top["error_reason"][0] if top.height and row["metric"] == "error_rate" else None
    # What a reader counts: rows, not the burst-weighted trials the tests used.
    flag_expr = pl.col("error_reason") == value if dim == ERROR_REASON else pl.col(flag)
    seen = (
        rows.select(pl.len().alias("n"), flag_expr.sum().alias("k"))
        .collect(engine="streaming")
        .row(0, named=True)
    )
    usual = row["K0"] / row["N0"] if row.get("N0") else row["expected"] / max(row["n"], 1)
    if dim != row["dimension"] and dim != ERROR_REASON:  # narrowed: the new segment's own usual rate
        outside = (
            base.filter(seg).select(pl.col("error_reason").is_not_null().mean())
            if base is not None and flag == "failed"
            else prepared.filter(seg & ~inside).select(pl.col(flag).mean())
        )
        usual = outside.collect(engine="streaming").item() if base is None or flag == "failed" else usual
        usual = row["K0"] / row["N0"] if usual is None else usual
    out = {
        "kind": row["kind"],
        "metric": row["metric"],
        "start": start,
        "end": None if end > last else end,
        "dimension": dim,
        "value": value,
        "error_reason": code,
        "q_value": row["q"],
        "explained_share": row["explained"],
        "requests": seen["n"],
        "requests_affected": max(0, round(seen["k"] - seen["n"] * usual)),
        "observed": seen["k"] / max(seen["n"], 1),
        "expected": usual,
    }
    if row["metric"] == "slow_share":  # the phase's p95, now and usual
        column = PHASES[row["events"]]
        usual = (base if base is not None else lf).filter(seg if base is not None else seg & ~_in(start, end))
        out["metric"] = f"{column}_p95"
        # Out of core: the account's usual p95 reads every row of the period but holds none.
        p95 = partial(scan_quantiles, wanted={column: (0.95,)}, interpolation="nearest")
        out["observed"], out["expected"] = p95(rows)[column][0], p95(usual)[column][0]
    if code is not None:
        fix = (
            lf.filter(pl.col("error_reason").cast(pl.String) == code).select(
                pl.col("error_reason_how_to_fix").cast(pl.String).drop_nulls().first()
            )
            if "error_reason_how_to_fix" in lf.collect_schema()
            else None
        )
        out["how_to_fix"] = fix.collect(engine="streaming").item() if fix is not None else None
    return out


def _describe_volume(run: dict[str, Any], lf: pl.LazyFrame, last: Any) -> dict[str, Any]:
    """A volume incident in the reader's units: rows (not bursts), bytes, the usual scaled alike."""
    seen = lf.filter(segment(run["dimension"], run["value"]) & _in(run["start"], run["end"]))
    requests = int(seen.select(pl.len()).collect(engine="streaming").item())
    ratio = run["observed"] / run["expected"] if run["expected"] else 0.0  # windows need a usual > 0
    drop = run["kind"] == "volume_drop"
    # Requests were judged as bursts: the usual rows are today's rows at the usual ratio.
    usual = (requests / ratio if ratio > 0 else run["expected"]) if drop else run["expected"]
    return {
        "kind": run["kind"],
        "metric": run["metric"],
        "start": run["start"],
        "end": None if run["end"] > last else run["end"],
        "dimension": run["dimension"],
        "value": run["value"],
        "error_reason": None,
        "observed": float(requests) if drop else run["observed"],
        "expected": usual,
        "requests": requests,
        "requests_affected": max(0, round(usual - requests)) if drop else requests,
        "q_value": run["q"],
        "explained_share": run["explained"],
        "how_to_fix": None,
    }


_HOUR = timedelta(hours=1)


def _in(start: Any, end: Any) -> pl.Expr:
    return pl.col("timestamp").is_between(start, end, closed="left")


def _gaps(current: pl.DataFrame, tz: str, step: timedelta) -> list[dict[str, Any]]:
    volume = current.filter(pl.col("dimension") == ALL)
    if volume.is_empty():
        return []
    first: Any = volume["t"].min()
    last: Any = volume["t"].max()
    gaps = seasonal_gaps(volume, first=first, end=last + step, every=step, tz=tz)
    return [
        {
            "kind": "traffic_gap",
            "metric": "requests",
            "start": g["start"],
            "end": g["end"],
            "dimension": ALL,
            "value": ALL,
            "observed": 0.0,
            "expected": g["expected"],
            "requests": 0,
            "requests_affected": round(g["expected"]),
            "q_value": float(np.exp(-g["expected"])),
            "explained_share": 1.0,
        }
        for g in gaps.iter_rows(named=True)
    ]


def _new(
    current: pl.DataFrame,
    previous: pl.DataFrame | None,
    alpha: float,
    last: Any,
    step: timedelta,
    lf: pl.LazyFrame,
) -> list[dict[str, Any]]:
    codes = current.filter(pl.col("dimension") == ERROR_REASON)
    volume = current.filter(pl.col("dimension") == ALL).select("t", "n")
    known = None if previous is None else set(previous.filter(pl.col("dimension") == ERROR_REASON)["value"])
    base_n = 0 if previous is None else int(previous.filter(pl.col("dimension") == ALL)["n"].sum())
    new = new_codes(codes, volume, baseline_codes=known, baseline_volume=base_n, alpha=alpha)
    out = []
    for row in new.iter_rows(named=True):
        after = int(volume.filter(pl.col("t") >= row["start"])["n"].sum())
        fix = (
            lf.filter(pl.col("error_reason").cast(pl.String) == row["value"])
            .select(pl.col("error_reason_how_to_fix").cast(pl.String).drop_nulls().first())
            .collect(engine="streaming")
            .item()
            if "error_reason_how_to_fix" in lf.collect_schema()
            else None
        )
        out.append(
            {
                "kind": "new_error_code",
                "metric": "error_count",
                "start": row["start"],
                "end": None if row["last"] + step > last else row["last"] + step,
                "dimension": ERROR_REASON,
                "value": row["value"],
                "error_reason": row["value"],
                "observed": float(row["k"]),
                "expected": 0.0,
                "requests": after,
                "requests_affected": int(row["k"]),
                "q_value": min(1.0, row["p"]),
                "explained_share": 1.0,
                "how_to_fix": fix,
            }
        )
    return out


def _drop_doubles(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One incident, one alert. Slower phases of one segment at one time are one slowdown: the one
    phase that slowed when only one did (the request time merely follows it), else the request time."""
    # Traffic that stopped is a gap, not also the account's volume falling.
    gaps = [r for r in rows if r["kind"] == "traffic_gap"]
    rows = [
        r
        for r in rows
        if not (r["kind"] == "volume_drop" and r["dimension"] == ALL and any(_overlap(r, g) for g in gaps))
    ]
    slow = [r for r in rows if r["kind"] == "latency_regression"]

    def kept(r: dict[str, Any]) -> bool:
        alike = {
            o["metric"]
            for o in slow
            if (o["dimension"], o["value"]) == (r["dimension"], r["value"]) and _overlap(o, r)
        }
        phases = alike - {"request_duration_p95"}
        if len(phases) == 1:
            return bool(r["metric"] in phases)
        whole = "request_duration_p95" if "request_duration_p95" in alike else "tunnel_duration_p95"
        return bool(r["metric"] == whole)

    return [r for r in rows if r["kind"] != "latency_regression" or kept(r)]


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two incidents' windows overlap (an open end is the end of the data)."""
    return (a["end"] is None or a["end"] > b["start"]) and (b["end"] is None or b["end"] > a["start"])
