"""A mistake the types must catch: a LazyFrame result used as an eager DataFrame."""

from __future__ import annotations

import polars as pl

import wsframes as wsf

lazy = wsf.generate_activity(10, seed=1).lazy()
summary: pl.DataFrame = wsf.latency_summary(lazy)  # wrong: lazy in, lazy out
