"""A month of records, reported from Parquet files: wall time and peak memory against DuckDB.

For each size (records over 30 days) the data is generated once, one Parquet file per day, and
cached on disk (``--cache``). Then, each as its own process tree sampled for RSS every 50 ms:

- **the report**: ``wsframes report --data DIR --start .. --end .. --no-compare-previous``
  (the CLI and its kernel, summed: all the memory the job needs);
- **the baseline**: DuckDB's headline queries on the same files (count; p50/p95/p99 of the
  three phases; failures by code; requests per hour; requests, failures and p95 per domain).

Prints wall time, peak RSS, the ratios report / DuckDB and bytes of memory per record.
Goals (issue 19): at 100M, peak RSS <= 4 GiB and wall time <= 5x DuckDB; 100M takes at most
1.5x the memory of 10M. Reading RSS from /proc makes this Linux-only.

Usage: python benchmarks/bench_report_scale.py [--records 2M,20M,100M] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

DAYS = 30
START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=DAYS)
GIB = 2**30

DUCKDB_QUERIES = """
import duckdb, sys
files = sys.argv[1] + "/*.parquet"
con = duckdb.connect()
con.execute(f"CREATE VIEW a AS SELECT * FROM read_parquet('{files}')")
phases = ", ".join(
    f"quantile_cont({c}, [0.5, 0.95, 0.99])"
    for c in ("handshake_duration", "tunnel_duration", "request_duration")
)
con.execute(f"SELECT count(*), {phases} FROM a").fetchall()
con.execute("SELECT error_reason, count(*) FROM a GROUP BY 1").fetchall()
con.execute("SELECT date_trunc('hour', timestamp), count(*) FROM a GROUP BY 1").fetchall()
con.execute(
    "SELECT domain, count(*), count(error_reason), quantile_cont(request_duration, 0.95)"
    " FROM a GROUP BY 1 ORDER BY 2 DESC"
).fetchall()
"""


def parse_count(text: str) -> int:
    """``2M``, ``500k`` or ``2000000``."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def month_of(records: int, cache: Path) -> Path:
    """A directory of 30 daily Parquet files holding *records* in all, generated once."""
    folder = cache / f"month-{records}"
    done = folder / ".complete"
    if done.exists():
        return folder
    from wsframes.fake import generate_activity

    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating {records:,} records into {folder} (once) ...", flush=True)
    per_day = records // DAYS
    for day in range(DAYS):
        lo = START + timedelta(days=day)
        n = per_day + (records - per_day * DAYS if day == DAYS - 1 else 0)
        generate_activity(n, start=lo, end=lo + timedelta(days=1), seed=day).write_parquet(
            folder / f"{lo:%Y-%m-%d}.parquet"
        )
    done.touch()
    return folder


def _tree_rss(root: int) -> int:
    """Resident bytes of *root* and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier += children
    return sum(rss.get(p, 0) for p in tree)


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, the whole process tree) of *command*."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode not in (0, 3):  # 3: written with critical alerts
        sys.exit(f"{command[:3]} failed with exit code {proc.returncode}:\n{err[-3000:]}")
    return wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="2M", help="comma-separated sizes, e.g. 2M,20M,100M")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "wsframes-bench-scale")
    args = parser.parse_args()
    sizes = [parse_count(s) for s in args.records.split(",")]
    print(f"{'records':>12} {'report':>9} {'DuckDB':>8} {'ratio':>6} {'report RSS':>11} {'DuckDB RSS':>11}"
          f" {'bytes/record':>13}")
    for records in sizes:
        folder = month_of(records, args.cache)
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as out:
            report = [
                sys.executable, "-m", "wsframes", "report", "--data", str(folder),
                "--start", START.isoformat(), "--end", END.isoformat(), "--no-compare-previous",
                "--out", out,
            ]  # fmt: skip
            wall, rss = measure(report)
        duck_wall, duck_rss = measure([sys.executable, "-c", DUCKDB_QUERIES, str(folder)])
        print(
            f"{records:>12,} {wall:>8.1f}s {duck_wall:>7.1f}s {wall / duck_wall:>5.1f}x"
            f" {rss / GIB:>9.2f} GiB {duck_rss / GIB:>8.2f} GiB {rss / records:>13,.0f}",
            flush=True,
        )
    print("goals at 100M: report RSS <= 4 GiB, time <= 5x DuckDB; 100M <= 1.5x the memory of 10M")


if __name__ == "__main__":
    main()
