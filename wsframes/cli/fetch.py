"""``wsframes fetch START [END] --out FILE``: load activity and write Parquet, CSV or NDJSON.

The format follows the suffix of ``--out``. Parquet keeps every dtype; CSV and NDJSON write
timestamps as ISO 8601 in UTC (``2026-11-25T12:00:00.123456+00:00``) and Categorical columns as
their text, with empty cells (CSV) or ``null`` (NDJSON) for missing values.

CSV is made safe to open in a spreadsheet: a text cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return (host names are chosen by whoever runs a target site, e.g.
``=HYPERLINK(...)``) gets a leading single quote, as OWASP recommends against formula injection.
Parquet and NDJSON keep the exact text. The command ends with one line: rows, window and path.

``--demo`` starts an embedded fake Webshare API on loopback, with synthetic traffic covering the
window, so the command works without an API key or network.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

import polars as pl

from wsframes._atomic import atomic_write
from wsframes.errors import ConfigurationError

__all__ = ["FORMULA_PREFIXES", "neutralize_formulas", "register", "run", "write_frame"]

log = logging.getLogger("wsframes.cli.fetch")

_SUFFIXES = (".parquet", ".csv", ".ndjson", ".jsonl")
_ISO_UTC = "%Y-%m-%dT%H:%M:%S%.6f%:z"
DEMO_RECORDS = 20_000


def register(subparsers: Any) -> None:
    """Add the ``fetch`` sub-command."""
    parser = subparsers.add_parser(
        "fetch",
        help="load activity for a window and write it to a file",
        description="Load every activity record in [START, END) and write Parquet, CSV or NDJSON "
        "(chosen by the suffix of --out). The API key comes from WEBSHARE_API_KEY.",
    )
    parser.add_argument("start", help="window start: ISO 8601 (2026-11-01T00:00Z), a date, or '24h', '7d'")
    parser.add_argument("end", nargs="?", default=None, help="window end (exclusive); default: now")
    parser.add_argument("--out", "-o", required=True, type=Path,
                        help="output file: .parquet, .csv or .ndjson")
    parser.add_argument("--plan-id", type=int, default=None, help="plan to read (default plan if omitted)")
    parser.add_argument("--search", default=None, help="the API's generic search (host names)")
    parser.add_argument("--error-reason", default=None, help="an error code, or '*' for every failure")
    parser.add_argument("--min-bytes", type=int, default=None, help="inclusive lower bound on bytes")
    parser.add_argument("--max-bytes", type=int, default=None, help="inclusive upper bound on bytes")
    parser.add_argument("--verification-category", default=None,
                        help="e.g. requests_to_financial_institutions")
    parser.add_argument("--base-url", default=None,
                        help="API origin (default: WEBSHARE_BASE_URL, else the public API)")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    parser.add_argument("--demo", action="store_true",
                        help="serve synthetic data from an embedded fake API (no key or network needed)")
    parser.set_defaults(func=run)


def _check_out(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ConfigurationError(
            f"--out {str(path)!r}: unknown suffix {suffix or '(none)'!r}; use .parquet, .csv or .ndjson."
        )
    parent = path.parent
    if not parent.is_dir():
        raise ConfigurationError(f"--out {str(path)!r}: {str(parent)!r} is not an existing directory.")
    if path.is_dir():
        raise ConfigurationError(f"--out {str(path)!r} is a directory; name a file inside it.")
    if not os.access(parent, os.W_OK):
        raise ConfigurationError(f"--out {str(path)!r}: directory {str(parent)!r} is not writable.")
    return suffix


#: First characters a spreadsheet reads as a formula (or that hide one): OWASP's list.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a single quote.

    Only text columns change (numbers such as ``-1.5`` stay numbers); Categorical columns are
    handled as their text.

    >>> neutralize_formulas(pl.DataFrame({"hostname": ["=1+1", "a.com", "@SUM(A1)"]}))["hostname"].to_list()
    ["'=1+1", 'a.com', "'@SUM(A1)"]
    """
    risky = pl.col(pl.String).str.contains(r"^[=+\-@\t\r]")
    text = [n for n, t in df.schema.items() if isinstance(t, pl.String | pl.Categorical | pl.Enum)]
    return df.with_columns(pl.col(text).cast(pl.String)).with_columns(
        pl.when(risky).then(pl.lit("'") + pl.col(pl.String)).otherwise(pl.col(pl.String)).name.keep()
    )


def write_frame(df: pl.DataFrame, path: Path) -> None:
    """Write an activity frame in the format named by the suffix of *path*, atomically.

    CSV text cells that would run as spreadsheet formulas are neutralised (see
    :func:`neutralize_formulas`); Parquet and NDJSON keep the exact text.
    """
    suffix = _check_out(path)
    if suffix == ".parquet":
        atomic_write(path, df.write_parquet)
    elif suffix == ".csv":
        safe = neutralize_formulas(df)
        atomic_write(path, lambda tmp: safe.write_csv(tmp, datetime_format=_ISO_UTC))
    else:
        atomic_write(path, df.write_ndjson)


def run(args: argparse.Namespace) -> int:
    """Run ``wsframes fetch``; returns the exit code."""
    from wsframes.api.activity import FILTERS
    from wsframes.loader import Client
    from wsframes.timeutil import resolve_window, utc_now

    _check_out(args.out)
    lo, hi = resolve_window(args.start, args.end)  # once: "24h" means the same window throughout
    if lo >= utc_now():
        raise ConfigurationError(
            f"the window [{lo:%Y-%m-%d %H:%M}, {hi:%Y-%m-%d %H:%M}) UTC starts in the future "
            f"(it is {utc_now():%Y-%m-%d %H:%M} UTC now): nothing can have been recorded yet."
        )
    filters = {name: getattr(args, name) for name in ("plan_id", *FILTERS)}
    progress = False if args.no_progress else None
    if args.demo:
        if args.base_url:
            raise ConfigurationError("--demo serves its own data: drop --base-url.")
        from wsframes.fake import FakeWebshare, generate_activity

        plans = {pid: generate_activity(DEMO_RECORDS, start=lo, end=hi, plan_id=pid) for pid in (1, 2)}
        with FakeWebshare("demo-key", plans=plans) as fake, Client(
            api_key=fake.api_key, base_url=fake.base_url, requests_per_minute=None
        ) as client:
            df = client.activity(lo, hi, progress=progress, **filters)
    else:
        with Client(args.config, **({"base_url": args.base_url} if args.base_url else {})) as client:
            df = client.activity(lo, hi, progress=progress, **filters)
    write_frame(df, args.out)
    print(f"wrote {df.height:,} records in [{lo:%Y-%m-%d %H:%M}, {hi:%Y-%m-%d %H:%M}) UTC to {args.out}")
    return 0
