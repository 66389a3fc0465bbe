"""``wsframes status --archive DIR``: coverage, gaps, size and completeness of a local archive."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from wsframes.cli.sync import archive_location

if TYPE_CHECKING:
    from wsframes.archive import ArchiveStatus

__all__ = ["problems", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``status`` sub-command."""
    parser = subparsers.add_parser(
        "status",
        help="show what the local archive holds and whether it is complete",
        description="Coverage per plan, gaps, rows and size on disk, warnings for gaps about to "
        "leave the API's 90-day window, and (unless --offline) an hour-by-hour comparison with the "
        "API's /stats/ counts. Every day file is checked against the SHA-256 in the manifest. Exit "
        "code 1 when hours disagree, gaps are about to be lost, or day files are damaged (each run "
        "of consecutive damaged days is listed with the one command that repairs it).",
    )
    parser.add_argument("--archive", type=archive_location, default=None,
                        help="archive directory or s3://bucket/prefix (default: WSFRAMES_ARCHIVE, else "
                        "the user data dir)")
    parser.add_argument("--offline", action="store_true",
                        help="skip the completeness check (no API key or network needed)")
    parser.add_argument("--base-url", default=None,
                        help="API origin (default: WEBSHARE_BASE_URL, else the public API)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the archive status; 1 when something needs the user's attention."""
    from wsframes.archive import archive_status

    check = not args.offline and bool(os.environ.get("WEBSHARE_API_KEY"))
    status = archive_status(args.archive, check=check, base_url=args.base_url)
    wrong = problems(status)
    if wrong:  # first line: what cron mails and a monitor reads
        print("ATTENTION: " + "; ".join(wrong))
    print(status)
    if not check and not args.offline:
        print("completeness not checked: set WEBSHARE_API_KEY to compare with the API's hourly "
              "stats (or pass --offline to skip it)")
    attention = any(p.warnings or (p.completeness is not None and not p.completeness.ok)
                    for p in status.plans)
    return 1 if attention else 0


def problems(status: ArchiveStatus) -> list[str]:
    """What is wrong, one short phrase per plan and kind (empty when nothing is)."""
    found: list[str] = []
    for p in status.plans:
        what = []
        if p.damaged:
            what.append(f"{len(p.damaged)} damaged day file(s)")
        if p.gaps:
            what.append(f"{len(p.gaps)} gap(s)")
        if p.completeness is not None and not p.completeness.ok:
            what.append(f"{p.completeness.mismatches.height} hour(s) disagree with the API")
        if not what and p.warnings:
            what.append(p.warnings[0])
        if what:
            found.append(f"plan {p.plan}: " + ", ".join(what))
    return found
