"""Checking what build_report is given, before anything starts: data sources and API options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from wsframes.errors import ConfigurationError
from wsframes.report.data import utc_timestamps

__all__ = ["DataSource", "check_api_options", "check_data", "data_extent", "describe_source"]

#: What ``data=`` may be: an activity frame, or the path of a Parquet file of one.
DataSource = pl.DataFrame | pl.LazyFrame | str | os.PathLike[str]

_API_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "page_size": int,
    "requests_per_minute": (int, float, type(None)),
    "timeout": (int, float),
    "max_retries": int,
    "connections": int,
}


def check_api_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Only plain, non-secret client settings may become notebook parameters."""
    checked = dict(options or {})
    for name, value in checked.items():
        if name not in _API_OPTIONS:
            raise ConfigurationError(
                f"api_options may hold {', '.join(_API_OPTIONS)}; not {name!r} (the key goes in api_key=)."
            )
        if isinstance(value, bool) or not isinstance(value, _API_OPTIONS[name]):
            raise ConfigurationError(f"api_options[{name!r}] has the wrong type: {type(value).__name__}.")
    return checked


def check_data(data: DataSource | None) -> str | None:
    """Check *data*; returns the absolute path of a Parquet file (None for a frame or the API)."""
    if data is None or isinstance(data, pl.DataFrame | pl.LazyFrame):
        if data is not None and "timestamp" not in data.collect_schema():
            raise ConfigurationError(
                "data has no 'timestamp' column; pass an activity frame (ACTIVITY_SCHEMA)."
            )
        return None
    if not isinstance(data, str | os.PathLike):
        raise ConfigurationError(
            f"data must be a Polars DataFrame/LazyFrame or a Parquet file path, not {type(data).__name__}."
        )
    path = Path(data)
    if not path.is_file():
        raise ConfigurationError(f"data file {str(path)!r} does not exist.")
    try:
        schema = pl.scan_parquet(path).collect_schema()
    except Exception:  # polars raises several types for a file that is not Parquet
        raise ConfigurationError(f"data file {str(path)!r} is not a readable Parquet file.") from None
    if "timestamp" not in schema:
        raise ConfigurationError(f"data file {str(path)!r} has no 'timestamp' column.")
    return str(path.resolve())


def data_extent(data: DataSource) -> tuple[datetime, datetime]:
    """The whole hours covering the data, for a report without an explicit window."""
    frame = pl.scan_parquet(Path(data)) if isinstance(data, str | os.PathLike) else data.lazy()
    ts = utc_timestamps(frame.collect_schema()["timestamp"])
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
    return f"Parquet file {Path(data).name}"
