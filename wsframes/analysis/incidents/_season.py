"""Seasonal references: a failure or slow share compared with the same time of day on other days.

A share of requests that follows the working day (failures 5% at night, 25% in office hours) is
not an incident, yet against the whole-period rate its peaks look like bursts. When there is
enough history, each one-bucket cell's usual rate is therefore pooled over the *same slot* of the
other days: the same time of day (>= :data:`MIN_DAYS` days of history), and also the same kind of
day, weekday or weekend (>= :data:`MIN_DAYS_WEEKLY` days, so that each kind has two or more).
Pooling counts (the other days' events over their requests, the cell's own day left out, as the
rest of the period is without seasonality) keeps the reference unbiased at low counts where a
median of daily rates is not, and a burst on one day only raises the others' reference (which
errs towards silence); the exact test then accounts for the smaller reference. A segment is
seasonal only when its slots hold :data:`MIN_SLOT_EVENTS` events on average, seen on a median of
:data:`MIN_DAYS` days or more: a small segment keeps the whole-period reference, whose larger
sample gives the tests their power.

Each cell gets ``e`` (its expected events), ``m`` (the reference requests behind that
expectation) and ``p0`` (the usual rate); the scan sums ``e`` and ``m`` over a window. The profile
is one ``group_by`` on the already-aggregated cells, so it costs little next to the scan.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from wsframes.analysis.incidents._cells import ALL

#: History (days) for a time-of-day profile, and for a time-of-day x weekday/weekend one.
MIN_DAYS, MIN_DAYS_WEEKLY = 3, 14
#: Events each slot's reference needs before a segment's expectation follows the time of day.
MIN_SLOT_EVENTS = 10
_DAY = timedelta(days=1)


def time_slot(local: pl.Series, step: timedelta, *, weekly: bool) -> pl.Series:
    """The seasonal slot of local bucket starts: the bucket of the day, times two plus a weekend
    flag when *weekly* (weekdays and weekends have their own rhythm)."""
    minute = local.dt.hour().cast(pl.Int64) * 60 + local.dt.minute().cast(pl.Int64)
    slot = minute // max(1, int(step.total_seconds() // 60))
    return slot * 2 + (local.dt.weekday() >= 6).cast(pl.Int64) if weekly else slot


def _calendar(frame: pl.DataFrame, tz: str, step: timedelta, days: int) -> pl.Series | None:
    """Each cell's seasonal ``slot``, or None when there is no seasonality.

    Computed once per bucket of the period (a few hundred) and gathered by bucket index: the
    time-zone arithmetic never runs on the (millions of) cells.
    """
    if frame.is_empty() or step >= _DAY or _DAY % step or days < MIN_DAYS:
        return None
    first: Any = frame["t"].min()
    last: Any = frame["t"].max()
    local = pl.datetime_range(first, last, step, eager=True).dt.convert_time_zone(tz)
    slot = time_slot(local, step, weekly=days >= MIN_DAYS_WEEKLY)
    us = step // timedelta(microseconds=1)
    index = ((frame["t"] - first).dt.total_microseconds() // us).to_numpy()
    return pl.Series("slot", slot.to_numpy()[index])


#: The profile's key packs the segment id above the slot (at most 2 x 1440 one-minute slots).
_SLOTS = 1 << 12


def seasonal(unit: pl.DataFrame, previous: pl.DataFrame | None, *, tz: str, step: timedelta) -> pl.DataFrame:
    """Add ``e``, ``m``, ``ng``, ``p0`` and the segment flag ``seasonal`` to the one-bucket cells *unit*.

    *unit* carries ``sid, t, k, n, K0, N0`` (reference of the whole period or of the baseline);
    *previous* is the baseline's cells (``dimension, value, t, k, n``), whose profile is then
    the reference. Cells without a usable profile have ``m`` 0 and ``p0`` null: they keep
    ``K0 / N0``, raised by the account's factor (``ng``, the requests times that factor).
    """
    flat = pl.col("K0") / pl.col("N0")
    source = (
        # A segment of fewer events in all could never hold enough per slot (pruned cheaply: the
        # cells carry the segment's total as their reference plus their own).
        unit.lazy()
        .filter(pl.col("K0") + pl.col("k") >= MIN_SLOT_EVENTS)
        .select("dimension", "sid", "t", "k", "n")
        .collect()
        if previous is None
        else previous.join(unit.select("dimension", "value", "sid").unique("sid"), on=["dimension", "value"])
    )
    # The history that counts is the profile's: it also decides the kind of slot for both.
    days = 0 if source.is_empty() else int((source["t"].max() - source["t"].min()) / _DAY) + 1  # type: ignore[operator]
    here, there = _calendar(unit, tz, step, days), _calendar(source, tz, step, days)
    if here is None or there is None:
        return unit.with_columns(
            e=pl.col("n") * flat.fill_nan(0),
            m=pl.lit(0.0),
            ng=pl.col("n").cast(pl.Float64),
            p0=pl.lit(None, pl.Float64),
            seasonal=pl.lit(False),
        )
    key = pl.col("sid") * _SLOTS + pl.col("slot")
    profile = (
        source.select("sid", "k", "n")
        .with_columns(there)
        .group_by(key.alias("key"))
        # One cell per day and slot: the count of cells is the count of days seen.
        .agg(
            pl.col("sid", "slot").first(),
            pl.col("k").sum().alias("KS"),
            pl.col("n").sum().alias("NS"),
            pl.len().alias("D"),
        )
    )
    account = source.filter(pl.col("dimension") == ALL)["sid"].unique()
    ok = (pl.col("KS").mean() >= MIN_SLOT_EVENTS) & (pl.col("D").median() >= MIN_DAYS)
    profile = profile.filter(ok.over("sid"))
    factor = _account_factor(profile.filter(pl.col("sid").is_in(account.implode())))
    # Most segments are small: they only need the account's factor of their slot, gathered by
    # slot number; only the few that have their own profile find a slot reference in it.
    raise_by = np.ones(_SLOTS)
    known = factor.filter(pl.col("slot") < len(raise_by))
    raise_by[known["slot"].to_numpy()] = known["g"].to_numpy()
    g = pl.Series(raise_by[here.to_numpy()])
    own = unit["sid"].is_in(profile["sid"].unique().implode())
    # Aligned with the cells (a left join of the key alone): new columns, never a copy of them.
    slots = unit.select(key=pl.col("sid") * _SLOTS + here).join(
        profile.select("key", "KS", "NS"), on="key", how="left", maintain_order="left"
    )
    cells = unit.with_columns(slots["KS"], slots["NS"], g=g)
    # Leave the cell's own day out when the profile comes from the data itself. The small
    # segments have no slot reference (KS, NS null): they keep the flat rate, raised by the
    # account's factor, as does a cell of a slot that no other day has.
    ks = pl.col("KS") - (pl.col("k") if previous is None else 0)
    ns = pl.col("NS") - (pl.col("n") if previous is None else 0)
    use = ns > 0
    p0 = pl.when(use).then(ks / ns)
    return (
        cells.with_columns(
            e=pl.col("n") * p0.fill_null(flat * pl.col("g")).fill_nan(0),
            m=pl.when(use).then(ns.cast(pl.Float64)).otherwise(0.0),
            ng=pl.col("n") * pl.col("g"),
            p0=p0,
            seasonal=own,
        )
        .drop("KS", "NS", "g")
        # What attribution weighs a segment's excess against: the same expectation.
        .with_columns(expected=pl.col("e"))
    )


def _account_factor(profile: pl.DataFrame) -> pl.DataFrame:
    """``slot, g`` from the account's *profile*: how much its usual rate rises per slot (>= 1).

    A segment too small for its own profile borrows the account's: its flat rate is raised by
    *g* where the account's rate is above its mean (so office-hour peaks are expected), but never
    lowered (a small segment may not follow the account's cycle at all, and a lowered reference
    would alarm on it at night).
    """
    rate = pl.col("KS").sum() / pl.col("NS").sum()
    return profile.with_columns(mean=rate, many=pl.col("KS").mean() >= MIN_SLOT_EVENTS).select(
        "slot",
        g=pl.when(pl.col("many") & (pl.col("mean") > 0))
        .then(pl.max_horizontal(pl.col("KS") / pl.col("NS") / pl.col("mean"), pl.lit(1.0)))
        .otherwise(1.0),
    )


def around_usual(unit: pl.LazyFrame) -> pl.LazyFrame:
    """The cells with ``K0``/``N0`` of their time of day, to measure over-dispersion around it.

    Measured around the flat rate instead, a daily cycle would look like over-dispersion and
    blunt every test of the dimension.
    """
    use = pl.col("m") > 0
    return unit.with_columns(
        K0=pl.when(use).then(pl.col("p0") * pl.col("m")).otherwise(pl.col("K0") * pl.col("ng") / pl.col("n")),
        N0=pl.when(use).then(pl.col("m")).otherwise(pl.col("N0")),
    )
