"""``wsframes sync --archive DIR --start 30d``: bring a local archive up to date."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["archive_location", "register", "run", "say_repairs"]


def archive_location(text: str) -> Path | str:
    """An ``--archive`` value: a directory, or an ``s3://bucket/prefix`` URL kept as text (a Path
    would fold its ``//``)."""
    return text.strip() if text.strip().lower().startswith("s3://") else Path(text)


def register(subparsers: Any) -> None:
    """Add the ``sync`` sub-command."""
    parser = subparsers.add_parser(
        "sync",
        help="fetch into the archive (local or s3://) what it lacks",
        description="Fetch the activity the archive lacks in [START, END) (plus its unsettled "
        "tail) and store it as Hive-partitioned Parquet. The API key comes from WEBSHARE_API_KEY.",
    )
    parser.add_argument("--archive", type=archive_location, default=None,
                        help="archive directory or s3://bucket/prefix (S3 settings from AWS_ENDPOINT_URL, "
                        "AWS_ACCESS_KEY_ID, ...; default: WSFRAMES_ARCHIVE, else the user data dir)")
    parser.add_argument("--start", default="90d",
                        help="window start: ISO 8601, a date, or '30d' (default: 90d, all the API keeps)")
    parser.add_argument("--end", default=None, help="window end (exclusive); default: now")
    parser.add_argument("--plan-id", type=int, default=None, help="plan to archive (default plan if omitted)")
    parser.add_argument("--base-url", default=None,
                        help="API origin (default: WEBSHARE_BASE_URL, else the public API)")
    parser.add_argument("--settle", default="2h",
                        help="how late records may arrive; newer data is re-read next sync (default 2h)")
    parser.add_argument("--lock-timeout", type=float, default=60.0,
                        help="seconds to wait for another sync of the same archive (default 60)")
    parser.add_argument("--refetch", action="store_true",
                        help="fetch the whole window again, final hours included (repairs what "
                        "`wsframes status` reports as disagreeing with the API; damaged day files "
                        "in the window are fetched again with or without it)")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one sync and print what it did."""
    from wsframes.archive import sync

    result = sync(
        args.archive, start=args.start, end=args.end, plan_id=args.plan_id, base_url=args.base_url,
        settle=args.settle, lock_timeout=args.lock_timeout, refetch=args.refetch,
        progress=False if args.no_progress else None, config=args.config,
    )
    say_repairs(result)
    print(result)
    return 0


def say_repairs(result: Any) -> None:
    """First line: what was wrong (cron mails it), though sync repaired it."""
    if result.repaired:
        print(f"ATTENTION: plan {result.plan}: {len(result.repaired)} damaged day file(s) found and "
              "fetched again")
