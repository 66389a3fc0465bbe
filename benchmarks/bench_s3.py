"""Benchmark an archive on S3 against the same archive on local disk, in one run.

Builds a local archive of ``--records`` (default 1 million) synthetic records over 10 days, written
through :mod:`wsframes.archive.store` as ``sync`` writes them, uploads the same objects to an
S3-compatible server on loopback (moto's server mode, started here), then prints medians of
``--repeat`` runs and their ratio to the local baseline:

- a full ``scan_activity(...).collect()`` from S3 with an empty download cache (cold) and with
  the cache filled by an earlier read (warm: only the manifest and a listing are fetched), each
  run as in a new process (every file hashed once, like the local baseline);
- a one-day scan from S3, cold (only that day's object is downloaded);
- ``verify_archive`` (every object downloaded afresh and hashed) against the local verify.

moto is a Python server sharing this machine's cores, so the cold figures bound what a real
store costs from above only loosely; the warm figure is the cache's own overhead.

Usage: ``python benchmarks/bench_s3.py [--records N] [--repeat K]``
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wsframes.archive import integrity, remote, scan_activity, verify_archive
from wsframes.archive.manifest import Manifest
from wsframes.archive.store import replace_range
from wsframes.fake import generate_activity

DAYS = 10
START = datetime(2026, 9, 1, tzinfo=UTC)


def build(root: Path, records: int) -> None:
    end = START + timedelta(days=DAYS)
    df = generate_activity(records, start=START, end=end, seed=1, plan_id=1)
    manifest = Manifest()
    replace_range(root, "1", START, end, df, keep=[], manifest=manifest)
    manifest.record("1", START, end, fetched_at=end + timedelta(days=1), settle=timedelta(hours=2))
    manifest.save(root)


def upload(root: Path, bucket: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = f"archive/{path.relative_to(root).as_posix()}"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def median(fn: Callable[[], object], repeat: int, before: Callable[[], None] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def new_process() -> None:
    """What a new process starts with: no file verified yet, no view (the download cache stays)."""
    integrity.clear_cache()
    remote._VIEWS.clear()


def cold_cache() -> None:
    new_process()
    os.environ[remote.CACHE_ENV] = tempfile.mkdtemp(prefix="bench-s3-cache-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
    try:
        root = Path(tempfile.mkdtemp(prefix="bench-s3-")) / "archive"
        build(root, args.records)
        upload(root, "bench-archive")
        url = "s3://bench-archive/archive"
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        print(f"archive: {args.records:,} records, {DAYS} day files, {size / 1e6:.1f} MB; "
              f"medians of {args.repeat}; moto on loopback; machine shared (2 cores)")
        day = (START + timedelta(days=4), START + timedelta(days=5))

        # Every run as in a new process (each file hashed once, as the first read of a process does).
        local = median(lambda: scan_activity(root, plan_id=1).collect(), args.repeat, new_process)
        cold = median(lambda: scan_activity(url, plan_id=1).collect(), args.repeat, cold_cache)
        warm = median(lambda: scan_activity(url, plan_id=1).collect(), args.repeat, new_process)
        local_day = median(lambda: scan_activity(root, *day, plan_id=1).collect(), args.repeat, new_process)
        cold_day = median(lambda: scan_activity(url, *day, plan_id=1).collect(), args.repeat, cold_cache)
        local_verify = median(lambda: verify_archive(root), args.repeat, new_process)
        s3_verify = median(lambda: verify_archive(url), args.repeat, new_process)
        print(f"full scan   local {local:7.3f} s | S3 cold {cold:7.3f} s ({cold / local:5.1f}x) | "
              f"S3 warm {warm:7.3f} s ({warm / local:5.2f}x)")
        print(f"1-day scan  local {local_day:7.3f} s | S3 cold {cold_day:7.3f} s "
              f"({cold_day / local_day:5.1f}x)")
        print(f"verify      local {local_verify:7.3f} s | S3 {s3_verify:7.3f} s "
              f"({s3_verify / local_verify:5.1f}x)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
