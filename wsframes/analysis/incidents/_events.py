"""Incidents that are not rate changes: holes in the traffic and error codes that are new.

**Traffic gaps.** A bucket's expected request count is the median of the same local hour of the
day on the other days of the same kind (weekdays with weekdays, weekends with weekends), needing
``min_days`` days of that kind. A run of empty buckets strictly inside the data is a gap when it
would have carried at least ``min_expected`` requests (a chance below e^-30 of silence by luck,
even allowing for bursts). The baseline is computed twice: the second time without the empty
runs found the first time, because a long hole is itself part of the first median and would
otherwise shave hours off both of its ends (a 60-hour hole spans three days of five).

**New error codes.** Given that a code occurred ``k`` times, if it were as likely before its
first appearance as after, the chance that all ``k`` fall after a point that leaves a share
``b`` of the traffic before it is ``(1 - b) ** k``; a baseline period in which the code never
occurs counts as traffic before. A Bonferroni budget covers every code tested.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

#: A new code needs this many occurrences before it is reported.
MIN_NEW_CODE = 5


def seasonal_gaps(
    counts: pl.DataFrame,
    *,
    first: datetime,
    end: datetime,
    every: timedelta,
    tz: str,
    min_buckets: int = 2,
    min_expected: float = 30.0,
    min_days: int = 2,
) -> pl.DataFrame:
    """Empty runs of the bucket grid ``[first, end)``: ``start, end, buckets, expected``.

    *counts* has the bucket start ``t`` (UTC) and requests ``n``; absent buckets count zero.
    """
    grid = pl.datetime_range(first, end, every, closed="left", time_zone="UTC", eager=True)
    local = pl.col("t").dt.convert_time_zone(tz)
    buckets = (
        grid.alias("t")
        .to_frame()
        .join(counts.select(pl.col("t").dt.convert_time_zone("UTC"), "n"), on="t", how="left")
        .with_columns(
            pl.col("n").fill_null(0),
            hod=local.dt.hour(),
            weekend=local.dt.weekday() >= 6,
            day=local.dt.date(),
        )
        .sort("t")
        .with_columns(run=(pl.col("n") > 0).rle_id())
    )
    busy = buckets.filter(pl.col("n") > 0)["t"]
    if busy.is_empty():
        return pl.DataFrame(
            schema={"start": grid.dtype, "end": grid.dtype, "buckets": pl.UInt32, "expected": pl.Float64}
        )
    inside = pl.col("t").is_between(busy.min(), busy.max())
    excluded: list[int] = []
    for _ in range(2):
        baseline = (
            buckets.filter(~pl.col("run").is_in(excluded))
            .group_by("hod", "weekend")
            .agg(
                pl.when(pl.col("day").n_unique() >= min_days)
                .then(pl.col("n").median())
                .otherwise(0.0)
                .alias("expected")
            )
        )
        found = (
            buckets.join(baseline, on=["hod", "weekend"], how="left")
            .with_columns(pl.col("expected").fill_null(0.0))
            .filter(inside & (pl.col("n") == 0))
            .group_by("run")
            .agg(
                # From the first to the last bucket that usually has traffic: the quiet night
                # before a missing working day is not part of what is missing.
                pl.col("t").filter(pl.col("expected") > 0).min().alias("start"),
                (pl.col("t").filter(pl.col("expected") > 0).max() + every).alias("end"),
                pl.len().alias("buckets"),
                pl.col("expected").sum(),
            )
            .filter((pl.col("buckets") >= min_buckets) & (pl.col("expected") >= min_expected))
        )
        excluded = found["run"].to_list()
    return found.drop("run").sort("start")


def new_codes(
    code_cells: pl.DataFrame,
    volume: pl.DataFrame,
    *,
    baseline_codes: set[str] | None,
    baseline_volume: int,
    alpha: float,
) -> pl.DataFrame:
    """Codes absent before some point and frequent after it: ``value, start, last, k, p``.

    *code_cells* are the ``error_reason`` cells (``t``, ``value``, ``f``); *volume* is requests
    ``n`` per bucket ``t``.
    """
    per = code_cells.group_by("value").agg(
        pl.col("t").min().alias("start"), pl.col("t").max().alias("last"), pl.col("f").sum().alias("k")
    )
    if baseline_codes is not None:
        per = per.filter(~pl.col("value").is_in(list(baseline_codes)))
    total = volume["n"].sum() + baseline_volume
    before = [volume.filter(pl.col("t") < start)["n"].sum() + baseline_volume for start in per["start"]]
    per = per.with_columns(before=pl.Series(before, dtype=pl.Float64))
    tested = max(per.height, 1)
    p = (1 - pl.col("before") / max(total, 1)) ** pl.col("k")
    return per.with_columns(p=p).filter((pl.col("k") >= MIN_NEW_CODE) & (pl.col("p") * tested < alpha))
