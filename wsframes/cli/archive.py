"""``wsframes archive export|verify|accept-loss``: back the archive up and prove a copy intact."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wsframes.cli.sync import archive_location

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``archive`` sub-command and its actions."""
    parser = subparsers.add_parser(
        "archive",
        help="back up the local archive, verify a copy, or accept losing a damaged day",
        description="After 90 days the archive is the only copy of its history: export it "
        "elsewhere and verify the copy against its manifest's SHA-256 checksums.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    export = actions.add_parser(
        "export", help="copy the archive to DEST, verifying every byte (updates an earlier export)")
    export.add_argument("dest", type=Path, help="destination directory (new, empty or an earlier export)")
    export.add_argument("--archive", type=archive_location, default=None,
                        help="archive directory or s3://bucket/prefix (default: WSFRAMES_ARCHIVE, else "
                        "the user data dir)")
    export.add_argument("--lock-timeout", type=float, default=60.0,
                        help="seconds to wait for a running sync (default 60)")
    export.set_defaults(func=_export)

    verify = actions.add_parser(
        "verify", help="check every day file of an archive or a copy against its manifest (offline)")
    verify.add_argument("path", type=archive_location, nargs="?", default=None,
                        help="archive or copy to check, a directory or s3://bucket/prefix (default: "
                        "WSFRAMES_ARCHIVE, else the user data dir)")
    verify.set_defaults(func=_verify)

    loss = actions.add_parser(
        "accept-loss", help="delete damaged day files that no backup holds and mark their days as a gap")
    loss.add_argument("--archive", type=archive_location, default=None,
                      help="archive directory or s3://bucket/prefix (default: WSFRAMES_ARCHIVE, else the "
                      "user data dir)")
    loss.add_argument("--plan-id", type=int, default=None, help="plan (default plan if omitted)")
    loss.add_argument("--start", required=True, help="first damaged day (YYYY-MM-DD)")
    loss.add_argument("--end", required=True, help="the day after the last damaged day (exclusive)")
    loss.set_defaults(func=_accept_loss)


def _export(args: argparse.Namespace) -> int:
    from wsframes.archive.backup import export_archive

    print(export_archive(args.archive, args.dest, lock_timeout=args.lock_timeout))
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Exit 0 only when every file matches its checksum; 1 otherwise."""
    from wsframes.archive.backup import verify_archive

    result = verify_archive(args.path)
    print(result)
    return 0 if result.ok else 1


def _accept_loss(args: argparse.Namespace) -> int:
    from wsframes.archive.backup import accept_loss

    days = accept_loss(args.archive, args.start, args.end, plan_id=args.plan_id)
    if not days:
        print("no damaged day files in that range; nothing changed")
    else:
        print(f"removed {len(days)} damaged day file(s) ({', '.join(map(str, days))}); the archive now "
              f"shows them as a gap")
    return 0
