"""Benchmark: find_incidents on 10 million rows over 30 days (goal: < 10 s, memory < 3x frame).

The frame comes from the fake's generator (diurnal load, bursts, thousands of domains), written
once to a temporary Parquet file; each case then runs in a fresh subprocess that has only read
it, so the RSS growth measured (sampled from /proc every 5 ms) belongs to the case alone:

* baseline: one Polars pass counting requests and failures per hour (what any report does);
* find_incidents(df): every dimension, both metrics, all window scales, gaps and new codes;
* duckdb: find_incidents on a DuckDB relation of the same file (the engine counts the cells).

Times are medians of --repeat runs taking turns; the ratio is find_incidents / baseline. The two
cores are shared with other work, so the load average is printed beside the figures, and so is
the CPU time of each case (all threads), which depends much less on what else is running. Run:

    .venv/bin/python benchmarks/bench_incidents.py [--rows 10000000] [--days 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CHILD = r"""
import sys, threading, time, polars as pl
from wsframes.analysis import find_incidents
df = pl.read_parquet(sys.argv[1])
case = sys.argv[2]
page = 4096
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
start = rss(); peak = [start]; done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.005)
threading.Thread(target=sample, daemon=True).start()
t, cpu = time.perf_counter(), time.process_time()
if case == "baseline":
    hour = pl.col("timestamp").dt.truncate("1h")
    out = df.group_by(hour).agg(pl.len(), pl.col("error_reason").is_not_null().sum())
elif case == "duckdb":  # the engine counts the cells; only they come back to Polars
    import duckdb
    out = find_incidents(duckdb.read_parquet(sys.argv[1])).pl()
else:
    out = find_incidents(df)
elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
done.set(); time.sleep(0.02)
print(elapsed, cpu, peak[0] - start, df.estimated_size(), out.height)
"""


def _run(path: str, case: str) -> tuple[float, float, int, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, path, case], check=True, capture_output=True, text=True
    )
    t, cpu, mem, size, found = out.stdout.split()[-5:]  # the last line: DuckDB may print before it
    return float(t), float(cpu), int(mem), int(size), int(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from datetime import UTC, datetime, timedelta

    from wsframes.fake import generate_activity

    start = datetime(2026, 10, 1, tzinfo=UTC)
    t = time.perf_counter()
    df = generate_activity(args.rows, start=start, end=start + timedelta(days=args.days), seed=7)
    print(f"generated {df.height:,} rows over {args.days} days in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "activity.parquet")
        df.write_parquet(path)
        del df
        print(f"load average before: {os.getloadavg()[0]:.2f} (2 shared cores)")
        times: dict[str, list[float]] = {"baseline": [], "find_incidents": [], "duckdb": []}
        cpus: dict[str, list[float]] = {case: [] for case in times}
        mem: dict[str, int] = {}
        for _ in range(args.repeat):
            for case in times:
                elapsed, cpu, grown, size, found = _run(path, case)
                times[case].append(elapsed)
                cpus[case].append(cpu)
                mem[case] = max(mem.get(case, 0), grown)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    frame_mb = size / 1e6
    for case, values in times.items():
        print(
            f"{case:>15}: median {statistics.median(values):6.2f} s (best {min(values):.2f} s, "
            f"CPU {statistics.median(cpus[case]):.2f} s), "
            f"peak RSS growth {mem[case] / 1e6:,.0f} MB = {mem[case] / size:.2f}x the frame "
            f"({frame_mb:,.0f} MB)"
        )
    ratio = statistics.median(times["find_incidents"]) / statistics.median(times["baseline"])
    print(f"find_incidents / baseline (median): {ratio:.1f}x; incidents found on stationary data: {found}")
    engine = statistics.median(times["duckdb"]) / statistics.median(times["find_incidents"])
    print(f"find_incidents on a DuckDB relation / on the Polars frame (median): {engine:.2f}x")
    verdict = (
        "met"
        if statistics.median(times["find_incidents"]) < 10 and mem["find_incidents"] < 3 * size
        else "NOT met"
    )
    print(f"goal (< 10 s, < 3x frame memory): {verdict}")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
