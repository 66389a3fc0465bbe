"""Frames from other engines: DuckDB relations, PySpark DataFrames, anything Narwhals reads lazily.

Every helper is defined once, on Polars expressions. A frame of another engine reaches that
definition in one of two ways:

* **Pushed down** (the core summaries: :func:`~wsframes.analysis.latency_summary`,
  :func:`~wsframes.analysis.error_taxonomy`, :func:`~wsframes.analysis.traffic_over_time`):
  the heavy aggregation (exact quantiles, counts, sums per group) runs *inside* the engine through
  Narwhals ``group_by().agg()``; only the small aggregated result crosses into Polars, where the
  shared definition finishes it. DuckDB computes quantiles with ``quantile_cont`` and Spark with
  ``percentile``: both exact, linear interpolation, the same numbers as Polars and NumPy.
* **Streamed** (every other helper, and ``by=`` Polars expressions): the columns the helper reads
  (projection is pushed into the engine) cross into Polars as a stream of Arrow batches and the
  Polars streaming engine runs the helper. For DuckDB that is in-process and batch by batch; for
  Spark the projected rows come to the driver, so prefer the pushed-down helpers on big tables.

The result is converted back to the caller's engine (a DuckDB relation for a relation, a Spark
DataFrame on the caller's session for a Spark DataFrame), so lazy in, lazy out holds there too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import narwhals as nw
import polars as pl

from wsframes.errors import ConfigurationError

__all__ = ["EngineFrame", "engine_frame", "to_engine"]

#: Rows per Arrow batch streamed out of DuckDB (bounded memory, few Python round trips).
_BATCH_ROWS = 256_000


class EngineFrame:
    """A caller's frame of another engine: its Narwhals handle and its Polars view.

    Attributes
    ----------
    native : the caller's own frame (DuckDB relation, Spark DataFrame...).
    nw : the same frame as a Narwhals ``LazyFrame`` (pushed-down aggregations run through it).
    name : the engine's name (``"duckdb"``, ``"pyspark"``...), for messages.
    """

    def __init__(self, native: Any, frame: nw.LazyFrame[Any]) -> None:
        self.native = native
        self.nw = frame
        self.name = str(frame.implementation).lower().removeprefix("implementation.")
        self._lock = threading.Lock()

    def polars(self) -> pl.LazyFrame:
        """A Polars LazyFrame reading this frame on demand (projection pushed into the engine)."""
        schema = self.schema()
        if self.nw.implementation is nw.Implementation.DUCKDB:
            source = self._duckdb_source
        else:
            source = self._generic_source
        return pl.io.plugins.register_io_source(source, schema=schema)

    def schema(self) -> pl.Schema:
        """The frame's schema in Polars dtypes, read from the engine's metadata (no rows)."""
        try:
            return pl.Schema(self.nw.head(0).collect(backend="polars").to_native().schema)
        except Exception as exc:  # an engine's own error type; say it in our terms
            raise ConfigurationError(
                f"could not read the {self.name} frame's schema ({type(exc).__name__}: "
                f"{(str(exc).strip().splitlines() or [''])[0][:200]})."
            ) from None

    def _duckdb_source(
        self, columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch: int | None
    ) -> Iterator[pl.DataFrame]:
        # A DuckDB connection runs one call at a time, and Polars may open a plan's sources
        # concurrently: each read completes under the lock (zero-copy Arrow), then is sliced.
        with self._lock:
            rel = self.native
            if columns is not None:  # only the columns the helper reads leave DuckDB
                rel = rel.select(*(_quoted(c) for c in columns))
            if n_rows is not None:
                rel = rel.limit(n_rows)
            table = rel.to_arrow_table()
        frame = pl.from_arrow(table, rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        for offset in range(0, max(frame.height, 1), batch or _BATCH_ROWS):
            part = frame.slice(offset, batch or _BATCH_ROWS)
            yield part if predicate is None else part.filter(predicate)

    def _generic_source(
        self, columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch: int | None
    ) -> Iterator[pl.DataFrame]:
        # Spark and other engines have no public batch stream; Narwhals collects the projection.
        frame = self.nw.select(columns) if columns is not None else self.nw
        if n_rows is not None:
            frame = frame.head(n_rows)
        out = frame.collect(backend="polars").to_native()
        yield out if predicate is None else out.filter(predicate)

    def convert(self, result: pl.LazyFrame) -> Any:
        """A (small, collected) result as a frame of the caller's engine."""
        return to_engine(result.collect(), self)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def engine_frame(df: Any) -> EngineFrame | None:
    """*df* as an :class:`EngineFrame` if Narwhals reads it lazily (DuckDB, Spark, Ibis...), else None."""
    try:
        frame = nw.from_native(df)
    except TypeError:
        return None
    if not isinstance(frame, nw.LazyFrame):
        return None  # eager non-Polars frames (pandas handled before; Modin, cuDF...) are not ours
    return EngineFrame(df, frame)


def to_engine(result: pl.DataFrame, engine: EngineFrame) -> Any:
    """*result* as a lazy frame of *engine*'s kind (a DuckDB relation, a Spark DataFrame...)."""
    impl = engine.nw.implementation
    if impl in (nw.Implementation.PYSPARK, nw.Implementation.PYSPARK_CONNECT, nw.Implementation.SQLFRAME):
        result = _spark_types(result)
    frame = nw.from_native(result, eager_only=True)
    if impl is nw.Implementation.PYSPARK or impl is nw.Implementation.PYSPARK_CONNECT:
        session = engine.native.sparkSession
        return frame.lazy(backend=impl, session=session).to_native()
    if impl is nw.Implementation.SQLFRAME:
        return frame.lazy(backend=impl, session=engine.native.session).to_native()
    return frame.lazy(backend=impl).to_native()


def _spark_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Spark has no unsigned integers nor categoricals: counts become Int64, labels String."""
    casts: dict[str, pl.DataType] = {}
    for name, dtype in frame.schema.items():
        if dtype.is_unsigned_integer():
            casts[name] = pl.Int64()
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            casts[name] = pl.String()
    return frame.cast(casts) if casts else frame  # type: ignore[arg-type]
