"""What the report notebook reads: the period's activity (and the previous period's), prepared.

Runs inside the kernel. Data comes from Parquet files (``data_path``), an archive, or the API
through :class:`wsframes.loader.Client`, which reads ``WEBSHARE_API_KEY`` from the
environment: the key is never a notebook parameter.

Files and archives are never read into memory whole: the periods are lazy scans of the window,
and each section collects only its result (:func:`collect`, Polars' streaming engine), so a
report's memory follows the groups it shows (domains, hours, codes) and the columns one section
needs, not every row (issue 19).
"""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import polars as pl

from wsframes import timeutil
from wsframes._config import Config
from wsframes.errors import ConfigurationError
from wsframes.schema import empty_activity

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

__all__ = [
    "Coverage",
    "ReportData",
    "anonymize_clients",
    "collect",
    "count_rows",
    "coverage",
    "keep_report_data",
    "load_report_data",
    "readable_start",
    "scan_parquet",
]


@dataclass(frozen=True)
class Coverage:
    """How much of the window the data covers, hour by hour."""

    hours: int
    hours_with_data: int
    first: datetime | None
    last: datetime | None
    missing_edges: list[str] = field(default_factory=list)
    rows: int = 0  # records in the window

    @property
    def complete(self) -> bool:
        """No hole at either edge of the window (quiet hours inside it are normal)."""
        return not self.missing_edges


@dataclass(frozen=True)
class ReportData:
    """The periods (lazy scans of their windows) and the facts a report is built from."""

    current: pl.LazyFrame
    previous: pl.LazyFrame | None
    start: datetime
    end: datetime
    previous_start: datetime | None
    coverage: Coverage
    source: str


def collect(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """*frame* computed, by Polars' streaming engine: a scan is read in batches, never whole."""
    return frame.lazy().collect(engine="streaming")


def count_rows(frame: pl.DataFrame | pl.LazyFrame | None) -> int:
    """Records in *frame* (0 for None)."""
    return 0 if frame is None else int(collect(frame.lazy().select(pl.len())).item())


def scan_parquet(target: str | os.PathLike[str]) -> pl.LazyFrame:
    """One scan over a data file or glob (``dir/**/*.parquet``): the files as they are, no Hive columns."""
    return pl.scan_parquet(os.fspath(target), hive_partitioning=False)


def anonymize_clients(frame: Frame, *, key: bytes | None = None) -> Frame:
    """Replace ``client_address`` with a keyed pseudonym (``client-`` + 10 hex digits).

    Within one call the same address always gets the same pseudonym, so per-client tables still
    add up. The key decides whether pseudonyms can be linked across calls:

    - by default a fresh random key is drawn for each call (one report calls this once) and
      never stored anywhere, so a pseudonym means nothing outside its report and nobody can
      undo it (an unkeyed hash is undone by hashing all 2^32 IPv4 addresses);
    - set ``WSFRAMES_ANONYMIZE_SALT`` to a secret of your own to get the same pseudonyms in
      every report (to follow a client from week to week); keep it secret, since anyone who has
      it can undo the pseudonyms the same way;
    - or pass *key* (bytes) explicitly.

    >>> df = pl.DataFrame({"client_address": ["10.0.0.1", "10.0.0.2", "10.0.0.1"]})
    >>> out = anonymize_clients(df)["client_address"].to_list()
    >>> out[0] == out[2] != out[1], out[0].startswith("client-")
    (True, True)
    """
    if key is None:
        salt = os.environ.get("WSFRAMES_ANONYMIZE_SALT")
        key = secrets.token_bytes(32) if not salt else salt.encode()
    # blake2b keys are at most 64 bytes: derive one from a secret of any length.
    digest_key = hashlib.blake2b(key, digest_size=32, person=b"wsframes-anon").digest()
    column = pl.col("client_address").cast(pl.String)
    # Hash each distinct address once: a week has millions of rows but few clients.
    clients = collect(frame.lazy().select(column.unique().drop_nulls()))["client_address"]
    mapping = {
        addr: "client-" + hashlib.blake2b(addr.encode(), key=digest_key, digest_size=5).hexdigest()
        for addr in clients.to_list()
    }
    dtype = frame.lazy().collect_schema()["client_address"]
    return frame.with_columns(column.replace_strict(mapping, default=None).cast(dtype))


def coverage(
    frame: pl.DataFrame | pl.LazyFrame,
    start: datetime,
    end: datetime,
    *,
    exact: bool = False,
    now: datetime | None = None,
    expired: timedelta = timedelta(0),
) -> Coverage:
    """Hour coverage of *frame* inside ``[start, end)``, and the holes a reader must know about.

    With ``exact=False`` (a file or frame someone handed over) an empty first or last hour is
    reported, since the data may simply stop early. With ``exact=True`` (a complete API load)
    quiet edges are just quiet; only a window reaching past *now* is incomplete. *expired* is how
    much of the window's start had passed the API's 90-day retention when it was read.
    """
    hours = max(1, int((end - start) / timedelta(hours=1)))
    ts = pl.col("timestamp")
    facts = frame.lazy().select(
        pl.len().alias("rows"), ts.min().alias("first"), ts.max().alias("last"),
        ts.dt.truncate("1h").n_unique().alias("hours"),
    )  # fmt: skip
    rows, first, last, with_data = collect(facts).row(0)
    if not rows and not exact:  # the critical no-data alert (report.coverage) says it
        return Coverage(hours, 0, None, None, [])
    with_data = with_data if rows else 0
    missing = []
    if expired > timeutil.RETENTION_SLACK:
        lost = _span(expired)
        missing.append(f"the first {lost} of the window had passed the API's 90-day limit when read")
    if exact:
        if now is not None and now < end:
            missing.append(f"the period is not over: data stops at {now:%Y-%m-%d %H:%M} UTC")
    elif isinstance(first, datetime) and isinstance(last, datetime):
        if first - start > timedelta(hours=1):
            missing.append(f"no records in the first {_span(first - start)} of the window")
        if end - last > timedelta(hours=1):
            missing.append(f"no records in the last {_span(end - last)} of the window")
    return Coverage(
        hours,
        with_data,
        first if isinstance(first, datetime) else None,
        last if isinstance(last, datetime) else None,
        missing,
        rows,
    )


def _span(delta: timedelta) -> str:
    hours = delta / timedelta(hours=1)
    if hours < 1:
        return f"{delta / timedelta(minutes=1):.0f} minutes"
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} hours"


def readable_start(first: datetime, *, now: datetime | None = None) -> datetime:
    """Where an API load of a window starting at *first* can begin now: *first*, or the 90-day floor.

    :func:`~wsframes.report.build_report` checks the window against the floor (the loader's own
    rule) before the kernel starts, but the kernel asks seconds, or on a busy machine minutes,
    later, and the floor moves with the clock. A window the builder accepted must not fail then:
    records that expired in between can't be read by anyone, so the load starts at the floor and
    the coverage says how much of the window was lost that way (when more than the loader's slack).

    >>> from datetime import UTC, datetime, timedelta
    >>> now = datetime(2026, 11, 26, tzinfo=UTC)
    >>> readable_start(now - timedelta(days=91), now=now) == now - timedelta(days=90)
    True
    """
    return max(first, timeutil.retention_floor(now))


def keep_report_data(data: ReportData, path: str) -> None:
    """Write the rows a report was built from (both periods) to *path*, atomically.

    The demo's fake API is gone once the report is built, so its notebook is pointed at this
    file instead: a rerun needs neither a key nor the network, and never reaches a real account
    while its label says "fake".
    """
    from pathlib import Path

    from wsframes._atomic import atomic_write

    parts = [data.previous, data.current] if data.previous is not None else [data.current]
    frame = pl.concat([p.lazy() for p in parts])
    atomic_write(Path(path), lambda tmp: frame.sink_parquet(tmp))


def load_report_data(
    *,
    start: str,
    end: str,
    plan_id: int | None = None,
    data_path: str | None = None,
    archive: str | None = None,
    compare_previous: bool = False,
    anonymize: bool = False,
    source: str = "",
    settings: Mapping[str, Any] | None = None,
) -> ReportData:
    """Load ``[start, end)`` (and the window before it when comparing) from Parquet, an archive or the API.

    *settings* are the fields of the :class:`wsframes.Config` the API is read with (never the key:
    it comes from the environment), as :meth:`wsframes.Config.public` gives them.
    """
    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    first = lo - (hi - lo) if compare_previous else lo
    loaded_at: datetime | None = None  # set for an API load, which is exact by construction
    expired = timedelta(0)  # how much of the window's start the API no longer served
    if data_path is not None:
        if not glob.glob(data_path, recursive=True):
            raise ConfigurationError(
                f"the report's data file {data_path!r} is not in {os.getcwd()!r}: run the notebook "
                "in the folder it was written to (the file sits beside it), or rebuild the report."
            )
        scan = scan_parquet(os.path.abspath(data_path))  # read lazily: later, maybe from elsewhere
        frame: pl.LazyFrame = timeutil.as_utc(scan, what="the report's data")
    elif archive is not None:  # offline and exact: the manifest says the window is covered
        from wsframes.archive.scan import scan_activity

        subuser = (settings or {}).get("subuser")
        frame = scan_activity(archive, first, hi, plan_id=plan_id, subuser=subuser)
        loaded_at = hi
    else:
        from wsframes.loader import Client  # only this path needs the network stack

        readable = readable_start(first)
        expired = max(timedelta(0), min(readable, hi) - lo)
        # The loader itself moves a start at the floor up to RETENTION_SLACK inside it.
        if readable + timeutil.RETENTION_SLACK >= hi:  # the window expired while waiting
            frame = empty_activity().lazy()
        else:
            with Client(Config(**(settings or {}))) as client:
                # progress=True: a bar when the notebook is rerun by hand; while a report is
                # built the kernel relays it to the builder's terminal (api.progress.RELAY_ENV).
                frame = client.activity(readable, hi, plan_id=plan_id, progress=True).lazy()
        loaded_at = timeutil.utc_now()
    if anonymize:
        frame = anonymize_clients(frame)
    ts = pl.col("timestamp")
    current = frame.filter(ts.is_between(lo, hi, closed="left"))
    previous = frame.filter(ts.is_between(first, lo, closed="left")) if compare_previous else None
    return ReportData(
        current=current,
        previous=previous,
        start=lo,
        end=hi,
        previous_start=first if compare_previous else None,
        coverage=coverage(current, lo, hi, exact=loaded_at is not None, now=loaded_at, expired=expired),
        source=source,
    )
