"""Benchmark :func:`wsframes.enrich`: 10M activity rows against a 100k-proxy list (goal: under 2 s).

Builds ``--rows`` activity rows (only the columns enrich reads, ``proxy_address`` Categorical as
loads return it, ~3% null as on the API, ~1% addresses absent from the list) and a
``--proxies``-row proxy list with 1% of it replaced, then times, in this process:

- ``enrich(activity, proxies, replaced)`` (median of ``--repeat`` runs after a warm-up, as for
  the Polars baseline);
- the obvious Polars baseline: the same lookup table left-joined on ``proxy_address``
  (Categorical on both sides, row order kept);
- the pandas baseline: ``DataFrame.merge(how="left")`` of the same lookup table (once: slow).

and prints each time with its ratio to enrich. The machine may be shared: read the ratios.

Usage: ``python benchmarks/bench_pool.py [--rows N] [--proxies N] [--repeat N] [--no-pandas]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from wsframes import enrich
from wsframes.analysis.pool import ENRICH_COLUMNS, _lookup
from wsframes.pool import proxies_frame, replaced_frame


def _addresses(k: int, octet: int) -> list[str]:
    return [f"{octet}.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(k)]


def build(rows: int, k: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Activity, proxy list and replaced list of the given sizes."""
    rng = np.random.default_rng(seed)
    listed = _addresses(k, 45)
    unknown = _addresses(max(1, k // 100), 46)
    universe = pl.Series("proxy_address", [*listed, *unknown]).cast(pl.Categorical)
    pick = rng.integers(0, len(universe), size=rows)
    activity = pl.DataFrame({
        "timestamp": pl.Series(np.sort(rng.integers(0, 7 * 86_400_000_000, size=rows)), dtype=pl.Int64)
        .cast(pl.Datetime("us", "UTC")),
        "proxy_address": universe.gather(pick),
        "error_reason": pl.Series([None] * rows, dtype=pl.Categorical),
    }).with_columns(pl.when(pl.Series(rng.random(rows) < 0.03)).then(None).otherwise(pl.col("proxy_address"))
                    .alias("proxy_address"))
    now = datetime(2026, 11, 26, tzinfo=UTC).isoformat()
    countries = ["US", "DE", "GB", "NL", "FR", "JP", "BR", "IN"]
    proxies = proxies_frame([
        {"id": f"d-{i}", "proxy_address": a, "port": 5000 + i % 5000, "valid": True,
         "country_code": countries[i % len(countries)], "city_name": f"City {i % 500}",
         "asn_number": 64500 + i % 300, "asn_name": f"AS name {i % 300}", "created_at": now}
        for i, a in enumerate(listed)
    ])
    old = (datetime(2026, 11, 22, tzinfo=UTC) + timedelta(hours=1)).isoformat()
    replaced = replaced_frame([
        {"id": i, "reason": "proxy_replaced", "proxy": a, "proxy_country_code": "US",
         "replaced_with": listed[i], "created_at": old} for i, a in enumerate(unknown)
    ])
    return activity, proxies, replaced


def _median(run: Callable[[], pl.DataFrame], repeat: int) -> tuple[float, pl.DataFrame]:
    """Median wall time of *repeat* runs after one untimed warm-up run."""
    out = run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--proxies", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pandas", action="store_true")
    args = parser.parse_args()
    activity, proxies, replaced = build(args.rows, args.proxies)
    print(f"activity {activity.height:,} rows, proxy list {proxies.height:,}, replaced {replaced.height:,}")

    ours, enriched = _median(lambda: enrich(activity, proxies, replaced), args.repeat)
    table = _lookup(proxies, replaced).with_columns(pl.col("proxy_address").cast(pl.Categorical))
    joined_t, joined = _median(
        lambda: activity.join(table, on="proxy_address", how="left", maintain_order="left"), args.repeat)
    assert enriched.height == joined.height == activity.height
    assert enriched.select(ENRICH_COLUMNS).equals(joined.select(ENRICH_COLUMNS))
    print(f"enrich (gather join)           {ours:7.3f} s  (goal < 2 s: {'met' if ours < 2 else 'NOT met'})")
    print(f"baseline polars left join      {joined_t:7.3f} s  ratio {joined_t / ours:5.2f}x")
    if not args.no_pandas:
        left, right = activity.to_pandas(), table.to_pandas()
        began = time.perf_counter()
        merged = left.merge(right, on="proxy_address", how="left")
        pandas_t = time.perf_counter() - began
        assert len(merged) == activity.height
        print(f"baseline pandas merge (once)   {pandas_t:7.3f} s  ratio {pandas_t / ours:5.2f}x")


if __name__ == "__main__":
    main()
