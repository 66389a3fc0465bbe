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

import polars as pl

from wsframes.analysis.incidents._cells import ALL

#: History (days) for a time-of-day profile, and for a time-of-day x weekday/weekend one.
MIN_DAYS, MIN_DAYS_WEEKLY = 3, 14
#: Events each slot's reference needs before a segment's expectation follows the time of day.
MIN_SLOT_EVENTS = 10
_DAY = timedelta(days=1)


def _slot(tz: str, step: timedelta, days: int) -> pl.Expr | None:
    """The seasonal slot of a bucket ``t``, or None when the buckets cannot have one."""
    if days < MIN_DAYS or step >= _DAY or _DAY % step:
        return None
    local = pl.col("t").dt.convert_time_zone(tz)
    minute = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    slot = minute // max(1, int(step.total_seconds() // 60))
    if days >= MIN_DAYS_WEEKLY:
        return slot * 2 + (local.dt.weekday() >= 6).cast(pl.Int32)
    return slot


def _days(frame: pl.DataFrame) -> int:
    if frame.is_empty():
        return 0
    first, last = frame["t"].min(), frame["t"].max()
    return int((last - first) / _DAY) + 1  # type: ignore[operator]


def seasonal(unit: pl.DataFrame, previous: pl.DataFrame | None, *, tz: str, step: timedelta) -> pl.DataFrame:
    """Add ``e``, ``m``, ``p0`` and the segment flag ``seasonal`` to the one-bucket cells *unit*.

    *unit* carries ``sid, t, k, n, K0, N0`` (reference of the whole period or of the baseline);
    *previous* is the baseline's cells (``dimension, value, t, k, n``), whose profile is then
    the reference. Cells without a usable profile have ``m`` 0 and ``p0`` null: they keep
    ``K0 / N0``.
    """
    flat = pl.col("K0") / pl.col("N0")
    source = (
        unit
        if previous is None
        else previous.join(unit.select("dimension", "value", "sid").unique("sid"), on=["dimension", "value"])
    )
    slot = _slot(tz, step, _days(source))
    if slot is None:
        return unit.with_columns(
            e=pl.lit(0.0),
            m=pl.lit(0.0),
            ng=pl.col("n").cast(pl.Float64),
            p0=pl.lit(None, pl.Float64),
            seasonal=pl.lit(False),
        )
    day = pl.col("t").dt.convert_time_zone(tz).dt.date()
    profile = (
        source.lazy()
        .with_columns(slot=slot, day=day)
        .group_by("sid", "slot")
        .agg(
            pl.col("k").sum().alias("KS"), pl.col("n").sum().alias("NS"), pl.col("day").n_unique().alias("D")
        )
    )
    usable = profile.group_by("sid").agg(
        ok=(pl.col("KS").mean() >= MIN_SLOT_EVENTS) & (pl.col("D").median() >= MIN_DAYS)
    )
    raise_by = _account_factor(source, profile)
    # Leave the cell's own day out when the profile comes from the data itself.
    ks = pl.col("KS") - (pl.col("k") if previous is None else 0)
    ns = pl.col("NS") - (pl.col("n") if previous is None else 0)
    use = pl.col("ok").fill_null(False) & (ns > 0)
    return (
        unit.lazy()
        .with_columns(slot=slot)
        .join(profile, on=["sid", "slot"], how="left")
        .join(raise_by, on="slot", how="left")
        .with_columns(pl.col("g").fill_null(1.0))
        .join(usable, on="sid", how="left")
        .with_columns(
            p0=pl.when(use).then(ks / ns),
            m=pl.when(use).then(ns.cast(pl.Float64)).otherwise(0.0),
            seasonal=pl.col("ok").fill_null(False),
        )
        # A cell without a slot reference (a slot no other day has) expects the flat rate,
        # raised where the account's rate is.
        .with_columns(
            e=pl.col("n") * pl.col("p0").fill_null(flat * pl.col("g")).fill_nan(0),
            ng=pl.col("n") * pl.col("g"),
        )
        .drop("slot", "KS", "NS", "D", "ok", "g")
        .collect()
    )


def _account_factor(source: pl.DataFrame, profile: pl.LazyFrame) -> pl.LazyFrame:
    """``slot, g``: how much the account's usual rate rises in each slot, never below 1.

    A segment too small for its own profile borrows the account's: its flat rate is raised by
    *g* where the account's rate is above its mean (so office-hour peaks are expected), but never
    lowered (a small segment may not follow the account's cycle at all, and a lowered reference
    would alarm on it at night).
    """
    account = source.filter(pl.col("dimension") == ALL).select("sid").unique()
    mine = profile.join(account.lazy(), on="sid")
    rate = pl.col("KS").sum() / pl.col("NS").sum()
    return mine.with_columns(mean=rate, many=pl.col("KS").mean() >= MIN_SLOT_EVENTS).select(
        "slot",
        g=pl.when(pl.col("many") & (pl.col("mean") > 0))
        .then(pl.max_horizontal(pl.col("KS") / pl.col("NS") / pl.col("mean"), pl.lit(1.0)))
        .otherwise(1.0),
    )
