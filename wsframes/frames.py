"""Raw API bytes -> typed Polars frames, and the pandas conversion.

Every frame is built against a declared schema (:data:`wsframes.schema.ACTIVITY_SCHEMA`); nothing
is inferred from the data, so a sparse nullable field never comes out as the Null type and an
unknown new field is simply ignored.

A page body is read straight into Polars (no Python dict per record): numbers are read as
``Float64`` because the API sends integral values as JSON floats (``443.0``), then cast to the
declared integer dtypes by a cast that refuses fractions and overflow; timestamps with any UTC
offset (``-07:00``, ``-08:00``, ``+05:30``, ``Z``) are normalised to UTC.

>>> body = b'''{"count": 1, "next": null, "results": [{"timestamp": "2022-08-16T15:29:42.517523-07:00",
...   "protocol": "http", "request_duration": 0.5, "handshake_duration": 0.3, "tunnel_duration": null,
...   "bytes": 3000000000.0, "client_address": "::1", "port": 443.0, "listen_address": "1.2.3.4",
...   "listen_port": 80, "something_new": [1, 2]}]}'''
>>> count, page = parse_activity_page(body)
>>> count, page["timestamp"][0], page["bytes"][0], page["port"][0]
(1, datetime.datetime(2022, 8, 16, 22, 29, 42, 517523, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 3000000000, 443)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import TYPE_CHECKING, Any, Final

import polars as pl
import pyarrow as pa

from wsframes.schema import ACTIVITY_SCHEMA, empty_activity

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CSV_SCHEMA",
    "HOURLY_STATS_SCHEMA",
    "TIMESTAMP_FORMAT",
    "assemble_pages",
    "hourly_stats_frame",
    "parse_activity_page",
    "parse_download_csv",
    "to_pandas",
]

#: How the API writes a time (lists, stats, proxies); the CSV download puts a space for the ``T``.
TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.f%#z"  # %#z: "+05:30", "-0800" or "Z"
_UTC_US: Final = pa.timestamp("us", "UTC")


def _raw_dtype(dtype: pl.DataType) -> pl.DataType:
    """How a field is read from JSON, before timestamps and integers are converted."""
    if dtype.is_integer():
        return pl.Float64()  # integral numbers may arrive as 443.0 (then cast safely by Arrow)
    if dtype.is_temporal():
        return pl.String()
    return dtype  # floats, strings and categoricals are read as declared: no second pass


_RAW_RECORD: Final = pl.Struct({name: _raw_dtype(dt) for name, dt in ACTIVITY_SCHEMA.items()})
_ENVELOPE: Final = {"count": pl.Int64(), "results": pl.List(_RAW_RECORD)}


#: Arrow types of the columns converted by Arrow's casts (integers: safe casts, see _typed).
_ARROW_CASTS: Final = {
    name: _UTC_US if dt.is_temporal() else pl.Series(dtype=dt).to_arrow().type
    for name, dt in ACTIVITY_SCHEMA.items()
    if dt.is_temporal() or dt.is_integer()
}


def _check_integral(frame: pl.DataFrame, columns: Iterable[str]) -> None:
    """Refuse non-integral numbers in integer fields (a strict float->int cast would truncate)."""
    cols = [c for c in columns if c in frame.columns]
    if not cols or frame.height == 0:
        return
    bad = frame.select(pl.any_horizontal((pl.col(c) != pl.col(c).floor()).any() for c in cols)).item()
    if bad:
        raise ValueError(f"non-integral value in an integer field (one of {', '.join(cols)})")


def _typed(records: pl.Series) -> pl.DataFrame:
    """Raw records (a struct Series) -> a frame with :data:`ACTIVITY_SCHEMA`.

    Timestamps and integers are converted by Arrow, one column at a time on this thread: its
    ISO-8601 cast takes any offset (``-08:00``, ``+0530``, ``Z``) and is about ten times
    faster here than ``str.to_datetime`` with ``%#z``; a *safe* float->int cast refuses
    ``443.5`` and out-of-range values where a strict Polars cast would truncate. A value
    without an offset, an impossible date or sub-microsecond digits raise too: never a guess.
    """
    raw = records.struct.unnest()
    if raw["timestamp"].null_count():
        raise ValueError("a record has no timestamp")
    columns = []
    for column in raw.get_columns():
        arrow_type = _ARROW_CASTS.get(column.name)
        if arrow_type is not None:
            try:
                column = pl.Series(column.name, column.to_arrow().cast(arrow_type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"invalid {column.name!r}: {exc}".splitlines()[0]) from None
        columns.append(column)
    return pl.DataFrame(columns)


def parse_activity_page(body: bytes, *, reverse: bool = False) -> tuple[int, pl.DataFrame]:
    """Decode one activity list response into ``(count, frame)``, records in page order
    (or the reverse order: the API pages newest first, frames are ascending).

    Raises ``ValueError`` when the body is not a valid activity envelope (cut short, HTML, a
    wrong type, a missing ``count``); callers treat that as a transient, retryable failure.

    >>> parse_activity_page(b'{"count": 0, "next": null, "results": []}')[1].shape
    (0, 18)
    """
    try:
        envelope = pl.read_json(BytesIO(body), schema=_ENVELOPE)
        count = envelope["count"][0]
        if count is None:
            raise ValueError("the envelope has no 'count'")
        records = envelope["results"][0]
        if records is None:  # no "results" (or null): no records
            records = pl.Series(dtype=_RAW_RECORD)
        # Reversing the struct before it is split costs one call, not one per column.
        return int(count), _typed(records.reverse() if reverse else records)
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"not a valid activity page: {exc}".splitlines()[0]) from None


def assemble_pages(pages: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Pages in the order fetched (newest page first), each already ascending -> one ascending frame.

    The API pages newest first, so each page is reversed as it arrives (a cheap gather on a
    small frame) and the page order here: no O(n log n) global sort. The pages are not copied
    into one buffer (``rechunk=False``), which keeps a load's peak memory near the size of its
    result; the frame has one chunk per page (``df.rechunk()`` makes it contiguous if needed).
    """
    if not pages:
        return empty_activity()
    return pl.concat(pages[::-1], rechunk=False)


def to_pandas(df: pl.DataFrame) -> pd.DataFrame:
    """The same data as a pandas DataFrame with nullable, time-zone-aware dtypes.

    ``timestamp`` becomes ``datetime64[us, UTC]``; integers ``Int64``/``Int32`` (pandas nullable);
    durations ``Float64`` (nulls are ``pd.NA``, not NaN); strings ``string``; Categorical columns
    ``category``. Row order and values are unchanged. Every analysis helper converts its pandas
    results with this function too, so nulls read the same (``<NA>``) everywhere.

    >>> from wsframes.schema import empty_activity
    >>> frame = to_pandas(empty_activity())
    >>> str(frame["timestamp"].dtype), str(frame["bytes"].dtype), str(frame["hostname"].dtype)
    ('datetime64[us, UTC]', 'Int64', 'string')
    """
    import pandas as pd
    import pyarrow as pa

    mapping: dict[Any, Any] = {
        pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
        pa.float32(): pd.Float32Dtype(), pa.float64(): pd.Float64Dtype(), pa.bool_(): pd.BooleanDtype(),
        pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(),
        pa.string_view(): pd.StringDtype(),
    }

    def nullable(arrow_type: pa.DataType) -> Any:
        # Lists and structs have no classic pandas dtype: keep them Arrow-backed (nullable) too.
        nested = (pa.types.is_list, pa.types.is_large_list, pa.types.is_struct)
        if any(is_nested(arrow_type) for is_nested in nested):
            return pd.ArrowDtype(arrow_type)
        return mapping.get(arrow_type)

    out: pd.DataFrame = df.to_arrow().to_pandas(types_mapper=nullable)
    return out


#: Hourly stats (``/api/v2/stats/``) as a frame: one row per hour with usage.
HOURLY_STATS_SCHEMA: Final = pl.Schema(
    {
        "timestamp": pl.Datetime("us", "UTC"),
        "is_projected": pl.Boolean(),
        "bandwidth_total": pl.Int64(),
        "bandwidth_average": pl.Float64(),
        "requests_total": pl.Int64(),
        "requests_successful": pl.Int64(),
        "requests_failed": pl.Int64(),
        "error_reasons": pl.List(
            pl.Struct({"reason": pl.String(), "type": pl.String(), "how_to_fix": pl.String(),
                       "http_status": pl.Int32(), "count": pl.Int64()})
        ),
        "countries_used": pl.List(pl.Struct({"country": pl.String(), "count": pl.Int64()})),
        "number_of_proxies_used": pl.Int64(),
        "protocols_used": pl.List(pl.Struct({"protocol": pl.String(), "count": pl.Int64()})),
        "average_concurrency": pl.Float64(),
        "average_rps": pl.Float64(),
        "last_request_sent_at": pl.Datetime("us", "UTC"),
    }
)


def _pairs(mapping: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(mapping, dict):
        return []
    return [{key: k, "count": int(v)} for k, v in mapping.items()]


def _stats_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row.get(name) for name in HOURLY_STATS_SCHEMA.names()}
    out["countries_used"] = _pairs(row.get("countries_used"), "country")
    out["protocols_used"] = _pairs(row.get("protocols_used"), "protocol")
    out["error_reasons"] = [
        {k: e.get(k) for k in ("reason", "type", "how_to_fix", "http_status", "count")}
        for e in row.get("error_reasons") or []
    ]
    return out


def hourly_stats_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Hourly stats objects -> a frame with :data:`HOURLY_STATS_SCHEMA`, ascending by hour.

    The ``{"US": 3}`` maps become lists of ``{country, count}`` structs (the keys are data, not
    a schema). Integral numbers sent as floats are accepted.
    """
    ts_cols = ("timestamp", "last_request_sent_at")
    string_schema = {n: (pl.String() if n in ts_cols else dt) for n, dt in HOURLY_STATS_SCHEMA.items()}
    for name, dt in string_schema.items():
        if dt.is_integer():
            string_schema[name] = pl.Float64()
    raw = pl.DataFrame([_stats_row(r) for r in rows], schema=string_schema, orient="row")
    _check_integral(raw, [n for n, dt in HOURLY_STATS_SCHEMA.items() if dt.is_integer()])
    parse = [
        pl.col(n).str.to_datetime(TIMESTAMP_FORMAT, time_zone="UTC", time_unit="us") if n in ts_cols
        else pl.col(n).cast(dt, strict=True)
        for n, dt in HOURLY_STATS_SCHEMA.items()
    ]
    return raw.select(parse).sort("timestamp")


#: The bulk CSV download, renamed to the activity field names where the meaning matches.
CSV_SCHEMA: Final = pl.Schema(
    {
        "timestamp": pl.Datetime("us", "UTC"),
        "hostname": pl.String(),
        "port": pl.Int32(),
        "bytes": pl.Int64(),
        "request_duration": pl.Float64(),
        "proxy": pl.String(),
        "client_address": pl.Categorical(),
        "error_reason": pl.Categorical(),
        "protocol": pl.Categorical(),
    }
)
_CSV_COLUMNS: Final = {
    "Time": "timestamp", "Hostname": "hostname", "Destination Port": "port", "Bytes": "bytes",
    "Duration": "request_duration", "Proxy": "proxy", "Your IP Address": "client_address",
    "Error Reason": "error_reason", "Protocol": "protocol",
}


def parse_download_csv(body: bytes) -> pl.DataFrame:
    """The activity CSV download -> a typed frame (:data:`CSV_SCHEMA`), ascending by time.

    ``Time`` uses a space instead of ``T``; the literal ``None`` (Python's rendering of a null:
    *Error Reason* of a success, a missing host name or port) becomes null. Unknown extra
    columns are ignored.
    """
    try:
        raw = pl.read_csv(
            BytesIO(body), infer_schema=False, null_values="None",
            columns=list(_CSV_COLUMNS),
        ).rename(_CSV_COLUMNS)
        _check_integral(raw.with_columns(pl.col("port", "bytes").cast(pl.Float64)), ("port", "bytes"))
        exprs = [
            pl.col(n).str.to_datetime(TIMESTAMP_FORMAT.replace("T", " "), time_zone="UTC", time_unit="us")
            if n == "timestamp"
            else pl.col(n).cast(pl.Float64).cast(dt, strict=True) if dt.is_integer()
            else pl.col(n).cast(dt, strict=True)
            for n, dt in CSV_SCHEMA.items()
        ]
        return raw.select(exprs).reverse()
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"not a valid activity CSV: {exc}".splitlines()[0]) from None
