"""Checking what build_report is given, before anything starts: data sources and API options."""

from __future__ import annotations

import glob as globmod
import logging
import os
from datetime import datetime
from pathlib import Path

import polars as pl

from wsframes.errors import ConfigurationError
from wsframes.report.data import scan_parquet
from wsframes.timeutil import as_utc, check_retention

__all__ = [
    "DataSource",
    "archive_compare",
    "check_archive",
    "check_covers",
    "check_data",
    "check_schema",
    "data_extent",
    "decide_compare",
    "describe_source",
    "has_rows",
]

#: What ``data=`` may be: an activity frame, or the path of a Parquet file of one.
DataSource = pl.DataFrame | pl.LazyFrame | str | os.PathLike[str]

log = logging.getLogger("wsframes.report.builder")

def check_data(data: DataSource | None) -> str | None:
    """Check *data*; returns what the kernel scans (None for a frame or the API).

    A path may be a Parquet file, a directory (every ``*.parquet`` under it, e.g. one file per
    day) or a glob (``"month/*.parquet"``); it must match at least one file, and the files must
    hold the activity schema. An archive directory is refused: ``archive=`` reads it with its
    integrity checks.
    """
    if data is None or isinstance(data, pl.DataFrame | pl.LazyFrame):
        if data is not None:
            check_schema(data.collect_schema(), what="data")
        return None
    if not isinstance(data, str | os.PathLike):
        raise ConfigurationError(
            f"data must be a Polars DataFrame/LazyFrame or Parquet file(s), not {type(data).__name__}."
        )
    target, what = _parquet_target(Path(data))
    try:
        schema = scan_parquet(target).collect_schema()
    except Exception:  # polars raises several types for a file that is not Parquet
        raise ConfigurationError(f"{what} is not readable Parquet.") from None
    check_schema(schema, what=what)
    return target


def _parquet_target(path: Path) -> tuple[str, str]:
    """The absolute file or glob a data path stands for, and how messages name it."""
    from wsframes.archive.manifest import MANIFEST_NAME

    if path.is_dir():
        if (path / MANIFEST_NAME).exists():
            raise ConfigurationError(f"{str(path)!r} is a wsframes archive: report from it with "
                                     f"--archive {path} (archive=), which checks its integrity.")
        target, what = str(path.resolve() / "**" / "*.parquet"), f"data directory {str(path)!r}"
    elif path.is_file():
        return str(path.resolve()), f"data file {str(path)!r}"
    elif any(ch in str(path) for ch in "*?["):
        target, what = str(path.absolute()), f"data glob {str(path)!r}"
    else:
        raise ConfigurationError(f"data file {str(path)!r} does not exist.")
    if not globmod.glob(target, recursive=True):
        raise ConfigurationError(f"{what} matches no Parquet file (*.parquet).")
    return target, what


def _scan(data: DataSource) -> pl.LazyFrame:
    frame = scan_parquet(data) if isinstance(data, str | os.PathLike) else data.lazy()
    return as_utc(frame, what="the report's data")


def data_extent(data: DataSource) -> tuple[datetime, datetime]:
    """The whole hours covering the data, for a report without an explicit window."""
    frame = _scan(data)
    ts = pl.col("timestamp")
    row = frame.select(lo=ts.min().dt.truncate("1h"), hi=(ts.max() + pl.duration(hours=1)).dt.truncate("1h"))
    lo, hi = row.collect().row(0)
    if lo is None:
        raise ConfigurationError("data holds no rows and no window was given; give start/end or a period.")
    return lo, hi


def describe_source(data: DataSource | None) -> str:
    """How the report names where its data came from."""
    if data is None:
        return "Webshare API"
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        return "a DataFrame given to build_report"
    return f"Parquet file {Path(data).name}" if Path(data).is_file() else f"Parquet files {data}"


# What a data source must look like for the template: the activity schema's columns, each in
# its family of dtypes (a pandas round trip turns Categorical into String, which is fine).
_TEXT = (pl.String, pl.Categorical, pl.Enum, pl.Null)
_FAMILIES: dict[str, tuple[type[pl.DataType], ...]] = {
    "datetime": (pl.Datetime,),
    "number": (pl.Float64, pl.Float32, pl.Int64, pl.Int32, pl.Int16, pl.Int8, pl.UInt64, pl.UInt32, pl.Null),
    "text": _TEXT,
}


def _family(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "number" if dtype.is_numeric() else "text"


def check_schema(schema: pl.Schema, *, what: str) -> None:
    """Refuse a source that lacks activity columns or holds them in the wrong dtype, naming them all.

    Done before the kernel starts: a missing column would otherwise fail late, deep in a cell.
    """
    from wsframes.schema import ACTIVITY_SCHEMA

    missing = [name for name in ACTIVITY_SCHEMA if name not in schema]
    wrong = [
        f"{name} is {schema[name]}, not a {_family(dtype)}"
        for name, dtype in ACTIVITY_SCHEMA.items()
        if name in schema and not isinstance(schema[name], _FAMILIES[_family(dtype)])
    ]
    problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + wrong
    if problems:
        raise ConfigurationError(
            f"{what} is not an activity table: {'; '.join(problems)}. Write it with "
            "`wsframes fetch --out FILE.parquet` or wsframes.load_activity (ACTIVITY_SCHEMA)."
        )


def check_covers(data: DataSource, first: datetime, end: datetime) -> None:
    """Refuse data that holds rows but none in ``[first, end)``, naming the range it does cover.

    Data with no rows at all passes: the report then says so with its critical no-data alert.
    """
    frame = _scan(data)
    ts = pl.col("timestamp")
    lo, hi, inside = (
        frame.select(
            ts.min().alias("lo"),
            ts.max().alias("hi"),
            ts.is_between(first, end, closed="left").sum().alias("inside"),
        )
        .collect()
        .row(0)
    )
    if lo is not None and not inside:
        name = f"data file {Path(data).name!r}" if isinstance(data, str | os.PathLike) else "data"
        raise ConfigurationError(
            f"{name} covers {lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M} UTC and holds nothing in the "
            f"report's window [{first:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) UTC; choose a window "
            "inside what it covers (or no window, to report on all of it)."
        )


def has_rows(data: DataSource, start: datetime, end: datetime) -> bool:
    """Whether *data* holds any row in ``[start, end)`` (e.g. the previous period, to compare)."""
    frame = _scan(data)
    ts = pl.col("timestamp")
    return bool(frame.select(ts.is_between(start, end, closed="left").any()).collect().item())


def decide_compare(
    wanted: bool | None, data: DataSource | None, lo: datetime, hi: datetime
) -> tuple[bool, str]:
    """Compare with the previous window when asked or, by default, when it is available.

    Returns the decision and, when a wanted comparison can't happen, the note the report shows
    (a start date the user never typed must not fail the whole report).
    """
    first = lo - (hi - lo)
    if data is not None:
        # Rows only in the previous window pass: an outage after traffic is what a report is for.
        check_covers(data, lo if wanted is False else first, hi)
        return (bool(wanted), "") if wanted is not None else (has_rows(data, first, lo), "")
    if wanted is False:
        return False, ""
    try:
        check_retention(first)
    except ConfigurationError:
        note = (
            f"The previous period (from {first:%Y-%m-%d %H:%M} UTC) is older than the 90 days the "
            "Webshare API keeps, so this report does not compare with it; sync an archive to keep "
            "older history."
        )
        if wanted:
            log.warning("%s", note)
        return False, note if wanted else ""
    return True, ""


def check_archive(archive: str | os.PathLike[str], lo: datetime, hi: datetime, *,
                  plan_id: int | None, subuser: int | None) -> str:
    """Check that the archive covers ``[lo, hi)`` intact (verified like any archive read); returns
    its location as the kernel gets it (an absolute directory, or the ``s3://`` URL)."""
    from wsframes.archive.scan import scan_activity

    scan_activity(archive, lo, hi, plan_id=plan_id, subuser=subuser)  # raises naming what it covers
    text = os.fspath(archive)
    return text if text.lower().startswith("s3://") else str(Path(text).resolve())


def archive_compare(wanted: bool | None, archive: str, lo: datetime, hi: datetime, *,
                    plan_id: int | None, subuser: int | None) -> tuple[bool, str]:
    """Compare with the window before when the archive covers it (any age: no 90-day limit)."""
    from wsframes.errors import IncompleteDataError

    if wanted is False:
        return False, ""
    try:
        check_archive(archive, lo - (hi - lo), lo, plan_id=plan_id, subuser=subuser)
    except IncompleteDataError:
        note = (
            f"The archive does not cover the whole previous period (from {lo - (hi - lo):%Y-%m-%d %H:%M} "
            "UTC), so this report does not compare with it; `wsframes sync` that period to compare."
        )
        if wanted:
            log.warning("%s", note)
        return False, note if wanted else ""
    return True, ""
