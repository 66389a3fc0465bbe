"""What a user's type checker sees: each helper returns the kind of frame it was given.

Checked by ``mypy --strict`` in test_typing.py (``assert_type`` is a no-op at run time, so this
module also runs as plain Python, and does when pytest imports it for doctests).
"""

from __future__ import annotations

from typing import assert_type

import duckdb
import pandas as pd
import polars as pl

import wsframes as wsf

eager: pl.DataFrame = wsf.generate_activity(200, seed=1)
lazy: pl.LazyFrame = eager.lazy()
pdf: pd.DataFrame = wsf.to_pandas(eager)

assert_type(wsf.latency_summary(eager), pl.DataFrame)
assert_type(wsf.latency_summary(lazy), pl.LazyFrame)
assert_type(wsf.latency_summary(pdf), pd.DataFrame)
assert_type(wsf.error_taxonomy(lazy, by="domain"), pl.LazyFrame)
assert_type(wsf.top_offenders(pdf, by="hostname", n=5), pd.DataFrame)
assert_type(wsf.traffic_over_time(eager, every="1h"), pl.DataFrame)
assert_type(wsf.slo_attainment(lazy, threshold=0.5), pl.LazyFrame)
assert_type(wsf.pool_health(pdf), pd.DataFrame)
assert_type(wsf.find_incidents(lazy, baseline=eager), pl.LazyFrame)
assert_type(wsf.compare_periods(lazy, lazy).summary, pl.LazyFrame)
relation = duckdb.from_arrow(eager.to_arrow())
assert_type(wsf.latency_summary(relation, by="domain"), duckdb.DuckDBPyRelation)

# Typical use: the result's own methods are known to the checker (no Any leaks into user code).
worst: list[str] = wsf.top_offenders(eager, n=3)["domain"].cast(pl.String).to_list()
rows: int = wsf.error_rate_over_time(lazy, every="1d").collect().height


def load_a_window() -> None:  # never called: a load needs a server
    assert_type(wsf.load_activity("7d", archive="archive", plan_id=1, page_size=500), pl.DataFrame)
