"""Pre-rendering activity records as the API's JSON and CSV text, vectorised with Polars.

The fake server renders every record once, when a plan is loaded, so a page is a byte slice (or a
join of slices) rather than per-request JSON encoding. Rendering follows the live API: compact
JSON, timestamps with microseconds and the account time zone's offset (which changes at a
daylight-saving transition), and, on a stable ~7% of records, integral numbers sent as JSON
floats (``443.0``).

>>> import polars as pl
>>> from datetime import datetime, timezone
>>> ts = pl.Series([datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc),
...                 datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)])
>>> render_timestamps(ts, "America/Los_Angeles").to_list()
['2026-11-01T01:30:00.000000-07:00', '2026-11-01T01:30:00.000000-08:00']
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from wsframes.schema import ACTIVITY_SCHEMA, DURATION_COLUMNS

__all__ = ["CSV_HEADER", "float_mask", "render_csv_lines", "render_json", "render_timestamps"]

#: Header of the bulk CSV download, in the API's column order.
CSV_HEADER = (
    "Time,Hostname,Destination Port,Bytes,Duration,Proxy,Your IP Address,Error Reason,Protocol"
)

_INT_COLUMNS = ("bytes", "port", "proxy_port", "listen_port")


def render_timestamps(ts: pl.Series, tz: str, *, sep: str = "T") -> pl.Series:
    """ISO-8601 text with microseconds and the UTC offset of *tz* at each instant."""
    return ts.dt.convert_time_zone(tz).dt.strftime(f"%Y-%m-%d{sep}%H:%M:%S%.6f%:z")


def float_mask(ts: pl.Series) -> pl.Series:
    """Records whose integral numbers are rendered as floats: a stable hash of the timestamp.

    Derived from the record rather than its position, so adding late records never changes how
    an existing record is rendered.
    """
    return (ts.cast(pl.Int64).hash(seed=7) % 100) < 7


def _json_strings(name: str) -> pl.Expr:
    """A string column as JSON text (``"..."`` escaped, or ``null``).

    Each distinct value is encoded once with :func:`json.dumps`, which escapes quotes,
    backslashes and control characters exactly as a JSON renderer must.
    """
    col = pl.col(name).cast(pl.String)
    return col.map_batches(
        lambda s: s.replace_strict(
            {v: json.dumps(v) for v in s.drop_nulls().unique().to_list()},
            default=None,
            return_dtype=pl.String,
        ),
        return_dtype=pl.String,
    ).fill_null("null")


def _json_number(name: str, as_float: pl.Expr | None) -> pl.Expr:
    text = pl.col(name).cast(pl.String)
    if as_float is not None:
        text = pl.when(as_float).then(text + ".0").otherwise(text)
    return text.fill_null("null")


def render_json(df: pl.DataFrame, tz: str) -> pl.Series:
    """One compact JSON object per record, fields in the API's order.

    Parameters
    ----------
    df : polars.DataFrame
        Records with :data:`wsframes.schema.ACTIVITY_SCHEMA`.
    tz : str
        The account's IANA time zone, used for the offsets of rendered timestamps.
    """
    frame = df.with_columns(
        _ts=render_timestamps(df["timestamp"], tz), _float=float_mask(df["timestamp"])
    )
    parts: list[pl.Expr] = []
    for i, name in enumerate(ACTIVITY_SCHEMA):
        parts.append(pl.lit(("{" if i == 0 else ",") + json.dumps(name) + ":"))
        if name == "timestamp":
            parts.append(pl.lit('"') + pl.col("_ts") + pl.lit('"'))
        elif name in _INT_COLUMNS:
            parts.append(_json_number(name, pl.col("_float")))
        elif name in DURATION_COLUMNS:
            parts.append(_json_number(name, None))
        else:
            parts.append(_json_strings(name))
    parts.append(pl.lit("}"))
    return frame.select(pl.concat_str(parts).alias("json")).to_series()


def _csv_field(expr: pl.Expr) -> pl.Expr:
    """CSV quoting (RFC 4180) of a text column; null becomes the literal ``None``."""
    text = expr.cast(pl.String).fill_null("None")
    needs = text.str.contains(r'[",\r\n]')
    return pl.when(needs).then('"' + text.str.replace_all('"', '""', literal=True) + '"').otherwise(
        text
    )


def render_csv_lines(df: pl.DataFrame, tz: str) -> pl.Series:
    """One CSV line per record (no line terminator), columns as :data:`CSV_HEADER`.

    ``Time`` uses a space instead of ``T``; nulls, including a success's ``Error Reason``, are
    the literal ``None``; ``Proxy`` is the proxy the client connected to (``address:port``).
    """
    proxy = pl.concat_str([pl.col("listen_address").cast(pl.String), pl.col("listen_port")], separator=":")
    fields = [
        pl.lit(render_timestamps(df["timestamp"], tz, sep=" ")),
        pl.col("hostname"),
        pl.col("port"),
        pl.col("bytes"),
        pl.col("request_duration"),
        proxy,
        pl.col("client_address"),
        pl.col("error_reason"),
        pl.col("protocol"),
    ]
    return df.select(
        pl.concat_str([_csv_field(f) for f in fields], separator=",").alias("csv")
    ).to_series()


def offsets(lengths: np.ndarray) -> np.ndarray:
    """Start offsets (plus the end) of consecutive chunks of the given byte lengths."""
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out
