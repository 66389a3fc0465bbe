"""The report's per-group quantile sections over a Parquet month: peak RSS and time per statement.

Each statement runs in its own child process (so its peak RSS, ``ru_maxrss``, is its own) over
the files as the report reads them (a lazy scan of the window), and again over the same rows
loaded into memory (a DataFrame). The in-memory route is the baseline of the same run: the
printed ratios are scan / in-memory, for time and for peak RSS above the process's RSS before
the statement (for the in-memory route, above the loaded frame).

Statements: ``latency_ccdf`` of the three phases (the spectrum to p99.99), ``latency_over_time``
of handshake and request time (6h buckets, the report's choice for a month), ``pool_health`` by
proxy address (the per-proxy p50/p95/p99 of ``held_quantile``).

Usage: python benchmarks/bench_grouped_quantiles.py DIR [--only NAME] [--routes scan,memory]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

GIB = 2**30
STATEMENTS = {
    "ccdf": "[latency_ccdf(df, metric=c, quantiles=CCDF_SPECTRUM) for c in DURATION_COLUMNS]",
    "over_time": "[latency_over_time(df, every='6h', metric=c) for c in PHASES]",
    "pool_health": "[pool_health(df, by=['proxy_address'])]",
}
PHASES = ("handshake_duration", "request_duration")  # the report's two latency-over-time charts


def child(data: Path, name: str, route: str) -> None:
    import polars as pl

    from wsframes.analysis import latency_ccdf, latency_over_time, pool_health
    from wsframes.report.sections import CCDF_SPECTRUM
    from wsframes.schema import DURATION_COLUMNS

    df = pl.scan_parquet(str(data / "*.parquet"), hive_partitioning=False)
    if route == "memory":
        df = df.collect()
    before = _rss()
    began = time.perf_counter()
    scope = {
        "df": df,
        "latency_ccdf": latency_ccdf,
        "latency_over_time": latency_over_time,
        "pool_health": pool_health,
        "CCDF_SPECTRUM": CCDF_SPECTRUM,
        "DURATION_COLUMNS": DURATION_COLUMNS,
        "PHASES": PHASES,
    }
    outputs = eval(STATEMENTS[name], scope)  # our own fixed statements
    frames = [o.collect(engine="streaming") if isinstance(o, pl.LazyFrame) else o for o in outputs]
    took = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    digest = [f.hash_rows().sum() for f in frames]  # to compare the routes' numbers
    print(
        json.dumps({"seconds": took, "peak": peak, "rise": peak - before, "digest": [int(d) for d in digest]})
    )


def _rss() -> int:
    import os

    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--only", choices=list(STATEMENTS))
    parser.add_argument("--routes", default="scan,memory")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.data, *args.child)
        return
    for name in [args.only] if args.only else STATEMENTS:
        results = {}
        for route in args.routes.split(","):
            out = subprocess.run(
                [sys.executable, __file__, str(args.data), "--child", name, route],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[route] = r = json.loads(out.splitlines()[-1])
            print(
                f"{name:>12} {route:>6}: {r['seconds']:6.2f} s, peak {r['peak'] / GIB:5.2f} GiB "
                f"(+{r['rise'] / GIB:5.2f} GiB)",
                flush=True,
            )
        if len(results) == 2:
            scan, memory = results["scan"], results["memory"]
            same = "same numbers" if scan["digest"] == memory["digest"] else "NUMBERS DIFFER"
            print(
                f"{name:>12} scan/memory: time {scan['seconds'] / memory['seconds']:.2f}x, "
                f"rise {scan['rise'] / max(memory['rise'], 1):.2f}x; {same}",
                flush=True,
            )


if __name__ == "__main__":
    main()
