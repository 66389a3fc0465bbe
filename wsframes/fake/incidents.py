"""Planted incidents: the ground truth for :func:`wsframes.analysis.find_incidents`' tests and the demo.

:func:`~wsframes.fake.generate_activity` is stationary by default (every rate is the same all
period long), which is what false-alarm tests need. Pass ``incidents=[Incident(...), ...]`` to
plant changes, each deterministic for the generator's seed:

=====================  ====================================================================
``error_burst``        a share ``size`` of the segment's requests in the window fail with
                       ``code`` (no tunnel, nothing transferred, as the API logs them)
``latency_regression`` the segment's handshake, tunnel and request times are multiplied by
                       ``size`` in the window; with ``phase="handshake"`` (or ``"tunnel"``)
                       only that phase is, and the request time grows by what it added
``traffic_gap``        every record in the window is dropped (the segment is ignored)
``new_error_code``     a share ``size`` of all requests from ``start`` on fail with ``code``,
                       a code the data never had before
``volume_drop``        a share ``size`` of the segment's requests in the window are never made
``bandwidth_surge``    the segment's bytes in the window are multiplied by ``size``
=====================  ====================================================================

The segment is ``dimension`` = ``value`` (any activity column, compared as text), or the whole
account when ``dimension`` is None. A conjunction of two columns is given as tuples, e.g.
``dimension=("domain", "client_address"), value=("shop.example.org", "203.0.113.10")``: only
requests matching both are hit (one customer's traffic to one site). Windows are
``[start, start + hours)``.

>>> from datetime import UTC, datetime
>>> from wsframes.fake import generate_activity
>>> t0 = datetime(2026, 11, 2, tzinfo=UTC)
>>> gap = Incident("traffic_gap", t0.replace(day=3), hours=6)
>>> df = generate_activity(5_000, start=t0, end=t0.replace(day=5), seed=1, incidents=[gap])
>>> df.filter(pl.col("timestamp").is_between(gap.start, gap.end, closed="left")).height
0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from wsframes.errors import ConfigurationError
from wsframes.fake.catalog import HOW_TO_FIX
from wsframes.schema import DURATION_COLUMNS

__all__ = ["INCIDENT_KINDS", "Incident", "fail", "plant", "segment_column"]

INCIDENT_KINDS = (
    "error_burst", "latency_regression", "traffic_gap", "new_error_code", "volume_drop", "bandwidth_surge"
)
_DEFAULT_SIZE = {
    "error_burst": 0.6, "latency_regression": 4.0, "traffic_gap": 0.0, "new_error_code": 0.05,
    "volume_drop": 0.7, "bandwidth_surge": 3.0,
}
_NEW_CODE_FIX = "A new failure: check the Webshare status page and your proxy settings."
# Failures that never reach the target log no target address and no outbound proxy.
_PRE_TARGET = ("no_proxies_allocated", "client_connect_high_concurrency", "bandwidthlimit")


@dataclass(frozen=True)
class Incident:
    """One planted change (see the module docstring for what each kind does)."""

    kind: str
    start: datetime
    hours: float = 3.0
    dimension: str | tuple[str, str] | None = None
    value: str | tuple[str, str] | None = None
    code: str = "target_connect_unknown_error"
    size: float | None = None
    phase: str | None = None

    def __post_init__(self) -> None:
        latency = self.kind == "latency_regression"
        if self.phase not in (None, "handshake", "tunnel") or (self.phase and not latency):
            raise ConfigurationError(f"phase is 'handshake' or 'tunnel', for a latency_regression only; "
                                     f"not {self.phase!r} for {self.kind!r}.")
        if self.kind not in INCIDENT_KINDS:
            raise ConfigurationError(
                f"incident kind must be one of {', '.join(INCIDENT_KINDS)}, not {self.kind!r}."
            )
        if self.start.tzinfo is None:
            raise ConfigurationError("an incident's start must be time-zone aware (e.g. UTC).")
        if self.hours <= 0:
            raise ConfigurationError(f"an incident must last a positive number of hours, not {self.hours}.")
        if (self.dimension is None) != (self.value is None):
            raise ConfigurationError("give an incident's segment as both dimension and value, or neither.")
        if isinstance(self.dimension, tuple) != isinstance(self.value, tuple) or (
            isinstance(self.dimension, tuple) and not (len(self.dimension) == len(self.value or ()) == 2)
        ):
            raise ConfigurationError("a conjunction is two dimensions and two values, as tuples.")

    @property
    def segment(self) -> list[tuple[str, str]]:
        """The ``(column, value)`` conditions the segment is made of (empty: the whole account)."""
        if self.dimension is None or self.value is None:
            return []
        if isinstance(self.dimension, tuple) and isinstance(self.value, tuple):
            return list(zip(self.dimension, self.value, strict=True))
        return [(str(self.dimension), str(self.value))]

    @property
    def end(self) -> datetime:
        """End of the window (exclusive)."""
        return self.start + timedelta(hours=self.hours)

    @property
    def effect(self) -> float:
        """The size, or the kind's default."""
        return _DEFAULT_SIZE[self.kind] if self.size is None else self.size


def segment_column(column: str) -> pl.Expr:
    """An incident dimension as text; ``proxy_net`` is a proxy's /24 ("a.b.c.0/24"), derived from
    ``proxy_address`` as the analysis does."""
    if column == "proxy_net":
        return pl.col("proxy_address").cast(pl.String).str.replace(r"\.\d+$", ".0/24")
    return pl.col(column).cast(pl.String)


def plant(frame: pl.DataFrame, incidents: Sequence[Incident], *, seed: int) -> pl.DataFrame:
    """Apply *incidents* to a generated frame, in order, deterministically for *seed*."""
    rng = np.random.default_rng([seed, 0x1C1D])
    for incident in incidents:
        for column, _ in incident.segment:
            if column not in frame.columns and column != "proxy_net":
                raise ConfigurationError(f"incident dimension {column!r} is not an activity column.")
        frame = _apply(frame, incident, rng)
    return frame


def _apply(frame: pl.DataFrame, inc: Incident, rng: np.random.Generator) -> pl.DataFrame:
    ts = pl.col("timestamp")
    end = inc.end if inc.kind != "new_error_code" else ts.max() + timedelta(microseconds=1)
    window = (ts >= inc.start) & (ts < end)
    for column, value in inc.segment:
        window = window & (segment_column(column) == value)
    if inc.kind == "traffic_gap":
        return frame.filter(~window)
    if inc.kind == "latency_regression" and inc.phase is not None:
        phase = pl.col(f"{inc.phase}_duration")
        added = phase.fill_null(0) * (inc.effect - 1)
        return frame.with_columns(
            pl.when(window).then(phase * inc.effect).otherwise(phase).alias(f"{inc.phase}_duration"),
            pl.when(window).then(pl.col("request_duration") + added).otherwise(pl.col("request_duration")),
        )
    if inc.kind == "latency_regression":
        return frame.with_columns(
            pl.when(window).then(pl.col(c) * inc.effect).otherwise(pl.col(c)).alias(c)
            for c in DURATION_COLUMNS
        )
    if inc.kind == "bandwidth_surge":
        grown = (pl.col("bytes") * inc.effect).round().cast(pl.Int64)
        return frame.with_columns(pl.when(window).then(grown).otherwise(pl.col("bytes")).alias("bytes"))
    hit = window & pl.Series(rng.random(frame.height) < inc.effect)
    return frame.filter(~hit) if inc.kind == "volume_drop" else fail(frame, hit, inc.code)


def fail(frame: pl.DataFrame, hit: pl.Expr, code: str) -> pl.DataFrame:
    """Rows where *hit* fail with *code* the way the API logs a failure before the tunnel."""
    fix = HOW_TO_FIX.get(code, _NEW_CODE_FIX)
    blank = ["tunnel_duration", "proxy_port"]
    if code in _PRE_TARGET:
        blank += ["ip_address", "proxy_address"]
    return frame.with_columns(
        pl.when(hit)
        .then(pl.lit(code))
        .otherwise(pl.col("error_reason").cast(pl.String))
        .alias("error_reason"),
        pl.when(hit)
        .then(pl.lit(fix))
        .otherwise(pl.col("error_reason_how_to_fix").cast(pl.String))
        .alias("error_reason_how_to_fix"),
        *[pl.when(hit).then(None).otherwise(pl.col(c)).alias(c) for c in blank],
        pl.when(hit).then(0).otherwise(pl.col("bytes")).alias("bytes"),
        pl.when(hit)
        .then(pl.col("handshake_duration"))
        .otherwise(pl.col("request_duration"))
        .alias("request_duration"),
    ).cast(
        {
            "error_reason": frame.schema["error_reason"],
            "error_reason_how_to_fix": frame.schema["error_reason_how_to_fix"],
        }
    )
