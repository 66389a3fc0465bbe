"""How long a report takes for 1,000,000 records already in memory, split by stage.

Stages (from :attr:`wsframes.report.ReportResult.timings`): kernel start, notebook execution
(read Parquet, every analysis, every figure) and HTML export; plus the HTML size. The baseline,
measured in the same process, is the report's analysis alone, in-process with no kernel, no
figures and no export: the ratio says what the notebook machinery costs on top of the numbers.

Goal (issue 4): under 20 s in all.

Usage: python benchmarks/bench_report.py [--records N] [--repeat R]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from wsframes.analysis import error_rate_over_time, error_taxonomy, latency_ccdf, latency_over_time
from wsframes.analysis.errors import top_offenders
from wsframes.analysis.traffic import traffic_over_time
from wsframes.fake import generate_activity
from wsframes.report import build_report
from wsframes.report.findings import PHASES, headline

GOAL_S = 20.0
END = datetime(2026, 11, 26, tzinfo=UTC)
START = END - timedelta(days=7)


def analysis_only(df: pl.DataFrame) -> float:
    """The numbers the report shows, computed in this process: the baseline."""
    started = time.perf_counter()
    headline(df)
    for column, _ in PHASES:
        latency_ccdf(df, metric=column)
    for column in ("handshake_duration", "request_duration"):
        latency_over_time(df, metric=column, every="1h")
    error_taxonomy(df)
    error_rate_over_time(df, every="1h")
    traffic_over_time(df, every="1h")
    for column in ("domain", "proxy_address", "hostname"):
        top_offenders(df, by=column, n=10, metric="request_duration")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    df = generate_activity(args.records, start=START, end=END, seed=1)
    print(
        f"{df.height:,} records over 7 days, already loaded ({df.estimated_size() / 1e6:,.0f} MB in memory)"
    )
    baseline = statistics.median(analysis_only(df) for _ in range(args.repeat))

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as out:
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = build_report(START, END, data=df, out_dir=out, plan_id=1)
            total = time.perf_counter() - started
            runs.append((total, result.timings, result.html_path.stat().st_size))
    total, timings, size = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run
    other = total - sum(timings.values())
    print(f"median of {args.repeat} builds:")
    for name in ("kernel_start", "execute", "export"):
        print(f"  {name:<14}{timings[name]:7.2f} s")
    print(f"  {'other':<14}{other:7.2f} s   (validation, Parquet hand-off, writes, index)")
    print(f"  {'total':<14}{total:7.2f} s   goal < {GOAL_S:.0f} s: {'met' if total < GOAL_S else 'MISSED'}")
    print(f"HTML size: {size / 1e6:.2f} MB (aim < 3 MB)")
    print(f"baseline (analysis only, in-process): {baseline:.2f} s")
    execute_ratio = timings["execute"] / baseline
    print(f"ratio total / baseline: {total / baseline:.1f}x; execute / baseline: {execute_ratio:.1f}x")


if __name__ == "__main__":
    main()
