"""Benchmark: wsframes against DuckDB computing the same figures, in memory and over an archive.

In memory (one process, ``--rows``, default 10 million, built by ``bench_analysis.build_frame``:
``--domains`` Zipf-distributed domains, default 2,000, ~6 % failures): ``latency_summary`` and
``error_taxonomy``, each grouped by domain and ungrouped, on the Polars frame, against DuckDB running
the equivalent SQL (``quantile_cont`` for the exact quantiles, ``count``/``avg``/``max``, failed-code
counts and group totals) over the same Polars frame (Arrow scan, zero copy). The cases take turns
(round robin, ``--repeat`` rounds) so that load from the other users of the machine hits them alike; medians
and best times are printed, with the ratio wsframes / DuckDB per function (goal: <= 1.0).

Over an archive (``--records``, default 10 million, written by ``bench_archive.build`` exactly
as ``sync`` writes it): ``latency_summary(scan_activity(...), by="domain")`` with the Polars
streaming engine, against DuckDB's ``read_parquet`` of the same files with the same SQL, and
wsframes given that DuckDB relation (the aggregation pushed down into DuckDB). Each run is a
fresh subprocess reporting its wall time and peak RSS (VmHWM), so memory is not carried over.

Run (the numbers are only meaningful in one run, side by side)::

    .venv/bin/python benchmarks/bench_engines.py [--rows N] [--domains N] [--records N] [--repeat 5]
        [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_analysis import build_frame
from bench_archive import build

from wsframes.analysis import error_taxonomy, latency_summary

log = logging.getLogger("bench_engines")
METRICS = ["handshake_duration", "tunnel_duration", "request_duration"]
QS = [0.5, 0.9, 0.95, 0.99, 0.999]


def summary_sql(source: str, by: str | None) -> tuple[str, str, str]:
    """DuckDB SQL for the same figures: latency stats, failed-code counts, group totals."""
    key, group = (f"{by}, ", f" group by {by}") if by else ("", "")
    stats = ", ".join(f"count({m}), avg({m}), quantile_cont({m}, {QS}) as q_{m}, max({m})" for m in METRICS)
    latency = f"select {key}{stats} from {source}{group}"
    codes = (
        f"select {key}error_reason, count(*) from {source} where error_reason is not null "
        f"group by {key}error_reason"
    )
    totals = f"select {key}count(*) from {source}{group}"
    return latency, codes, totals


def duckdb_cases(frame: pl.DataFrame, by: str | None) -> dict[str, Callable[[], Any]]:
    """DuckDB's side of each function: the latency query, and the code counts with group totals."""
    con = duckdb.connect()
    con.register("activity", frame)  # Arrow scan of the Polars frame, as DuckDB users do
    latency, codes, totals = summary_sql("activity", by)
    return {
        "latency_summary": lambda: con.sql(latency).to_arrow_table(),
        "error_taxonomy": lambda: [con.sql(q).to_arrow_table() for q in (codes, totals)],
    }


def wsframes_cases(frame: pl.DataFrame, by: str | None) -> dict[str, Callable[[], Any]]:
    return {
        "latency_summary": lambda: latency_summary(frame, by=by),
        "error_taxonomy": lambda: error_taxonomy(frame, by=by),
    }


def agree(frame: pl.DataFrame) -> None:
    """The two sides compute the same figures: compare the quantiles and the failure counts."""
    ours = latency_summary(frame, quantiles=QS)
    duck = duckdb_cases(frame, None)
    theirs = duck["latency_summary"]().to_pylist()[0]
    for i, metric in enumerate(METRICS):
        row = ours.row(i, named=True)
        assert row["metric"] == metric
        expected = [row[f"p{q * 100:g}"] for q in QS]
        got = theirs[f"q_{metric}"]
        assert all(abs(a - b) <= 1e-9 * abs(b) for a, b in zip(got, expected, strict=True)), metric
    codes, _ = duck["error_taxonomy"]()
    assert sum(codes.column(1).to_pylist()) == error_taxonomy(frame)["count"].sum()


def in_memory(rows: int, domains: int, repeat: int) -> None:
    log.info("building %s rows over %s domains", f"{rows:,}", f"{domains:,}")
    frame = build_frame(rows, domains=domains)
    labels = {"domain": "by domain", None: "ungrouped"}
    cases = {
        (engine, func, label): fn
        for by, label in labels.items()
        for engine, make in (("wsframes", wsframes_cases), ("duckdb", duckdb_cases))
        for func, fn in make(frame, by).items()
    }
    agree(frame)
    times: dict[tuple[str, str, str], list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm-up: first-call costs (thread pools, catalogues)
        fn()
    for _ in range(repeat):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    print(f"in memory, {rows:,} rows, {domains:,} domains, {repeat} rounds (2 shared cores: medians matter)")
    print(f"  load average {os.getloadavg()[0]:.1f}")
    for (engine, func, label), ts in times.items():
        name = f"{engine} {func} {label}"
        print(f"  {name:<40} median {statistics.median(ts):6.3f} s   best {min(ts):6.3f} s")
    for func in ("latency_summary", "error_taxonomy"):
        for label in labels.values():
            ws, db = times["wsframes", func, label], times["duckdb", func, label]
            print(
                f"  {func} {label:<10} wsframes / DuckDB: median "
                f"{statistics.median(ws) / statistics.median(db):.2f}x   best {min(ws) / min(db):.2f}x"
                "   (goal <= 1.0x)"
            )


# Each probe prints one JSON line: its wall time and its own peak RSS (VmHWM; ru_maxrss would
# carry the parent's peak over exec).
_PROBE = """
import json, re, sys, time
root, what, sql = sys.argv[1], sys.argv[2], sys.argv[3:]
import duckdb, polars as pl
from wsframes.archive import scan_activity
from wsframes.analysis import latency_summary
files = f"{root}/plan_id=1/*/activity.parquet"
t = time.perf_counter()
if what == "wsframes":
    out = latency_summary(scan_activity(root, plan_id=1), by="domain").collect(engine="streaming")
elif what == "wsframes-on-duckdb":
    out = latency_summary(duckdb.read_parquet(files), by="domain").to_arrow_table()
elif what == "duckdb":
    out = duckdb.sql(sql[0].replace("SOURCE", f"read_parquet('{files}')")).to_arrow_table()
elapsed = time.perf_counter() - t
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
rows = out.num_rows if hasattr(out, "num_rows") else out.height
print(json.dumps({"seconds": elapsed, "peak_rss": peak, "rows": rows}))
"""


def probe(root: Path, what: str) -> dict[str, float]:
    latency, _, _ = summary_sql("SOURCE", "domain")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root), what, latency], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def streaming(root: Path, records: int, repeat: int) -> None:
    if not (root / "_wsframes_manifest.json").exists():
        log.info("writing a %s-record archive to %s", f"{records:,}", root)
        build(root, records)
    runs: dict[str, list[dict[str, float]]] = {w: [] for w in ("wsframes", "duckdb", "wsframes-on-duckdb")}
    for _ in range(repeat):
        for what in runs:
            runs[what].append(probe(root, what))
    print(
        f"archive, {records:,} records, latency_summary by domain, a fresh subprocess per run "
        f"({repeat} rounds)"
    )
    med = {
        w: (statistics.median(r["seconds"] for r in rs), statistics.median(r["peak_rss"] for r in rs))
        for w, rs in runs.items()
    }
    for what, (secs, peak) in med.items():
        print(f"  {what:<20} median {secs:6.2f} s   peak RSS {peak / 2**30:5.2f} GiB")
    ws, db = med["wsframes"], med["duckdb"]
    print(
        f"  streaming wsframes / DuckDB: time {ws[0] / db[0]:.2f}x, peak memory {ws[1] / db[1]:.2f}x "
        "(goal <= 1.0x each)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--domains", type=int, default=2000, help="Zipf-distributed domains in memory")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="keep (or reuse) the archive here")
    parser.add_argument("--skip", choices=("memory", "archive"), default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.skip != "memory":
        in_memory(args.rows, args.domains, args.repeat)
    if args.skip != "archive":
        if args.dir is not None:
            args.dir.mkdir(parents=True, exist_ok=True)
            streaming(args.dir, args.records, args.repeat)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                streaming(Path(tmp) / "archive", args.records, args.repeat)


if __name__ == "__main__":
    main()
