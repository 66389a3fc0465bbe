"""Benchmark the archive: bytes per record, one-day scans against full scans, streaming memory.

Builds an archive of ``--records`` (default 10 million) synthetic records over 30 days, written
straight through :mod:`wsframes.archive.store` exactly as ``sync`` writes them (no API needed), then
prints:

- size on disk and bytes per record (goal: under 20);
- the time to scan one day out of 30 against reading everything (ratio, best of 3);
- integrity: a full scan with every file's SHA-256 verified (cold, and cached in-process) against
  the same Polars scan of the same files without verification (goal: under 10 % overhead), and
  ``archive_status`` with and without verification (medians of 5);
- peak RSS of ``latency_summary`` over the whole archive with the streaming engine against the
  peak RSS and in-memory size of the archive loaded eagerly. Each of those runs in its own
  subprocess, since a process's peak RSS cannot be reset; a subprocess that only imports the
  libraries is the baseline.

Usage: ``python benchmarks/bench_archive.py [--records N] [--dir DIR] [--no-memory]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wsframes.archive import archive_status, integrity, scan_activity
from wsframes.archive.manifest import Manifest
from wsframes.archive.store import file_sha256, plan_files, replace_range
from wsframes.fake import generate_activity

log = logging.getLogger("bench_archive")

DAYS = 30
START = datetime(2026, 9, 1, tzinfo=UTC)
PLAN = "1"

# Each probe prints one JSON line: its own peak RSS and what it computed. VmHWM, not ru_maxrss:
# Linux carries ru_maxrss over exec, so a child would report the (large) parent's peak.
_PROBE = """
import json, re, sys
import polars as pl
from wsframes.archive import archive_status, integrity, scan_activity
from wsframes.analysis import latency_summary
root, what = sys.argv[1], sys.argv[2]
out = {}
if what == "eager":
    df = scan_activity(root, plan_id=1).collect()
    out["rows"], out["frame_bytes"] = df.height, df.estimated_size()
elif what == "streaming":
    summary = latency_summary(scan_activity(root, plan_id=1)).collect(engine="streaming")
    out["rows"] = int(summary["count"].max())
elif what == "sketch":
    summary = latency_summary(scan_activity(root, plan_id=1), method="sketch").collect(engine="streaming")
    out["rows"] = int(summary["count"].max())
status = open("/proc/self/status").read()
out["peak_rss"] = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
print(json.dumps(out))
"""


def build(root: Path, records: int) -> int:
    """Write *records* synthetic records over 30 days, one day per store call, like a sync."""
    manifest = Manifest()
    per_day, total = records // DAYS, 0
    for i in range(DAYS):
        lo, hi = START + timedelta(days=i), START + timedelta(days=i + 1)
        n = per_day + (records - per_day * DAYS if i == DAYS - 1 else 0)
        frame = generate_activity(n, start=lo, end=hi, seed=i, plan_id=int(PLAN))
        replace_range(root, PLAN, lo, hi, frame, keep=manifest.covered(PLAN), manifest=manifest)
        manifest.record(PLAN, lo, hi, fetched_at=hi + timedelta(days=1), settle=timedelta(hours=2))
        total += frame.height
        log.info("day %d/%d written", i + 1, DAYS)
    manifest.save(root)
    return total


def best_of(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def median_of(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


@contextlib.contextmanager
def verification_off():  # type: ignore[no-untyped-def]
    """The baseline: every file taken as sound without reading it."""
    real = integrity.verify_day
    integrity.verify_day = lambda *a, **k: None  # type: ignore[assignment]
    try:
        yield
    finally:
        integrity.verify_day = real


def bench_integrity(root: Path, rounds: int = 5) -> None:
    """Print the cost of checksum verification on a full scan and on status.

    The baseline is the same ``scan_activity`` query with verification switched off; the variants
    alternate round by round so that load from other processes hits them alike.
    """
    def run(verify: str) -> tuple[float, float]:
        """(wall, CPU) seconds of one full scan; CPU time of all threads barely depends on what
        else the machine runs, so its ratio is the steadier figure on a shared machine."""
        if verify == "cold":
            integrity.clear_cache()
        ctx = verification_off() if verify == "off" else contextlib.nullcontext()
        t, cpu = time.perf_counter(), time.process_time()
        with ctx:
            scan_activity(root, plan_id=1).collect()
        return time.perf_counter() - t, time.process_time() - cpu

    run("warm")  # fill the page cache and the verification cache once
    times: dict[str, list[tuple[float, float]]] = {"off": [], "cold": [], "warm": []}
    for _ in range(rounds):
        for variant in times:
            times[variant].append(run(variant))
    wall = {v: statistics.median(t[0] for t in ts) for v, ts in times.items()}
    cpu = {v: statistics.median(t[1] for t in ts) for v, ts in times.items()}
    base, c, w = wall["off"], wall["cold"], wall["warm"]
    hashing = median_of(3, lambda: [file_sha256(p) for p in plan_files(root, PLAN)])
    print(f"full scan, unverified   {base * 1e3:,.0f} ms (baseline: same query, median of {rounds})")
    print(f"full scan, verified     {c * 1e3:,.0f} ms cold = {(c - base) / base:+.1%} (goal < +10%), "
          f"{w * 1e3:,.0f} ms cached in-process = {(w - base) / base:+.1%}")
    extra = {v: (cpu[v] - cpu["off"]) / cpu["off"] for v in ("cold", "warm")}
    print(f"  in CPU time           {cpu['off'] * 1e3:,.0f} ms unverified, cold {extra['cold']:+.1%}, "
          f"cached {extra['warm']:+.1%}")
    print(f"SHA-256 of every file   {hashing * 1e3:,.0f} ms = {hashing / base:.1%} of the baseline scan")

    def status_cold() -> None:
        integrity.clear_cache()
        archive_status(root)

    with verification_off():
        s0 = median_of(rounds, lambda: archive_status(root))
    s1 = median_of(rounds, status_cold)
    print(f"status                  {s0 * 1e3:,.0f} ms unverified vs {s1 * 1e3:,.0f} ms verifying every "
          f"file's SHA-256: {s1 / s0:.2f}x")


def probe(root: Path, what: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root), what], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the archive here")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="wsframes-bench-") as tmp:
        root = args.dir or Path(tmp) / "archive"
        t = time.perf_counter()
        rows = build(root, args.records)
        write_s = time.perf_counter() - t
        size = sum(p.stat().st_size for p in plan_files(root, PLAN))
        print(f"records archived        {rows:,} over {DAYS} days ({write_s:.1f} s including generation)")
        print(f"size on disk            {size / 1e6:,.1f} MB = {size / rows:.2f} bytes/record (goal < 20)")

        day_lo = START + timedelta(days=14)
        one_day = best_of(
            3, lambda: scan_activity(root, day_lo, day_lo + timedelta(days=1), plan_id=1).collect()
        )
        everything = best_of(3, lambda: scan_activity(root, plan_id=1).collect())
        print(
            f"scan one day of {DAYS}      {one_day * 1e3:,.0f} ms vs all {everything * 1e3:,.0f} ms: "
            f"{everything / one_day:.1f}x faster"
        )

        bench_integrity(root)
        if args.no_memory:
            return
        base = probe(root, "baseline")["peak_rss"]
        eager = probe(root, "eager")
        streaming = probe(root, "streaming")
        sketch = probe(root, "sketch")
        assert streaming["rows"] == sketch["rows"] == eager["rows"] == rows  # the summary saw every row
        mb = 1e6
        print(f"baseline process        peak RSS {base / mb:,.0f} MB (imports only)")
        print(
            f"eager load              peak RSS {eager['peak_rss'] / mb:,.0f} MB, "
            f"frame {eager['frame_bytes'] / mb:,.0f} MB in memory"
        )
        for name, res in (("exact", streaming), ("sketch", sketch)):
            print(
                f"latency_summary {name:<7} streaming peak RSS {res['peak_rss'] / mb:,.0f} MB = "
                f"{res['peak_rss'] / eager['peak_rss']:.2f}x the eager load's peak, "
                f"{(res['peak_rss'] - base) / eager['frame_bytes']:.2f}x the frame size above baseline"
            )


if __name__ == "__main__":
    main()
