"""``wsframes report``: build the HTML report of a period (and its notebook) into ``--out``.

Exit codes, for cron and monitors:

- 0: the report was written and raised no critical alert;
- 3: the report was written *with* critical alerts (no data at all, nothing succeeded, missing
  data, an account-wide or code-wide incident): read it. ``--demo`` exits 0 once its report is
  written: its incidents are planted on synthetic data, and the demo is the README's main job;
- 2: no report could be written (the reason is printed; a failed notebook is kept beside them);
- 130: interrupted (Ctrl-C); nothing partial is left behind.

``--demo`` needs no API key: it serves a week of synthetic traffic from an embedded fake API.

Cron example (every day at 00:30, yesterday's report, index rebuilt)::

    30 0 * * *  WEBSHARE_API_KEY=... wsframes report --period yesterday --out /srv/reports || mail ...
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path
from typing import Any

from wsframes.cli.sync import archive_location, say_repairs
from wsframes.report.period import PERIODS

__all__ = ["register", "run", "terminal_safe"]

# ANSI escape sequences (CSI ... final byte, OSC ... BEL/ST), then any other control character.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

log = logging.getLogger("wsframes.cli.report")


def register(subparsers: Any) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="build the HTML report of a period",
        description="Build a standalone HTML report (plus its executed notebook) for a period and "
        "update index.html. Data comes from the API (key in WEBSHARE_API_KEY), from --data, or "
        "from an embedded fake API with --demo.",
    )
    when = parser.add_argument_group("period (default: last-7d, or the whole --data file)")
    when.add_argument(
        "--period", choices=PERIODS, default=None, help="a named period aligned to whole hours/days in --tz"
    )
    when.add_argument("--start", default=None, help="window start: ISO 8601, a date, or '24h', '7d'")
    when.add_argument("--end", default=None, help="window end (exclusive); default: now")
    parser.add_argument("--plan-id", type=int, default=None, help="plan to read (default plan if omitted)")
    parser.add_argument("--tz", default="UTC", help="display time zone, e.g. Europe/Berlin (default UTC)")
    parser.add_argument(
        "--compare-previous",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compare with the period of the same length just before (default: whenever it is "
        "available, i.e. within the API's 90 days or present in --data)",
    )
    parser.add_argument(
        "--data", type=Path, default=None, metavar="FILE|DIR|GLOB",
        help="report on Parquet file(s) instead of the API: a file, a directory of them, or a glob",
    )
    parser.add_argument(
        "--archive", type=archive_location, default=None, metavar="DIR|s3://...",
        help="report offline from a `wsframes sync` archive (the previous period too, at any age)",
    )
    parser.add_argument(
        "--sync", action="store_true",
        help="with --archive: first fetch into it what it lacks (key in WEBSHARE_API_KEY), then report",
    )
    parser.add_argument(
        "--allowed-clients", default=None, metavar="CIDR,...",
        help="client address ranges allowed to use the credentials; the Proxy pool section lists "
        "every other client (e.g. 203.0.113.0/24,2001:db8::/32)",
    )
    parser.add_argument(
        "--proxies", type=Path, default=None, metavar="FILE",
        help="a Parquet proxy list (wsframes.load_proxies) for the Proxy pool section of a --data report",
    )
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
    parser.add_argument(
        "--anonymize-clients",
        action="store_true",
        help="replace client addresses with pseudonyms keyed by a random secret drawn for this report "
        "and never stored (stable within the report only); set WSFRAMES_ANONYMIZE_SALT to a secret "
        "of your own for the same pseudonyms in every report",
    )
    parser.add_argument(
        "--base-url", default=None, help="API origin (default: WEBSHARE_BASE_URL, else the public API)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use an embedded fake API with a week of synthetic traffic (no key needed)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report; returns the exit code (errors are raised as WsframesError -> 2)."""
    from wsframes.errors import ConfigurationError
    from wsframes.report import build_demo_report, build_report

    if args.demo:
        given = [
            f"--{n.replace('_', '-')}"
            for n in ("start", "end", "data", "archive", "base_url", "plan_id")
            if getattr(args, n) is not None
        ]
        if given:
            raise ConfigurationError(f"--demo makes its own data; drop {', '.join(given)}.")
        result = build_demo_report(
            out_dir=args.out,
            period=args.period or "last-7d",
            tz=args.tz,
            compare_previous=args.compare_previous is not False,
            anonymize_clients=args.anonymize_clients,
            config=args.config,
        )
    else:
        if args.sync:
            _sync_first(args)
        result = build_report(
            args.start,
            args.end,
            period=args.period,
            plan_id=args.plan_id,
            tz=args.tz,
            compare_previous=args.compare_previous,
            data=args.data,
            archive=args.archive,
            base_url=args.base_url,
            out_dir=args.out,
            anonymize_clients=args.anonymize_clients,
            config=args.config,
            allowed_clients=args.allowed_clients,
            proxies=args.proxies,
        )
    critical = int(result.summary.get("critical_alerts") or 0)
    for title, detail in result.summary.get("critical") or []:  # what cron mails: say what is wrong
        print(f"CRITICAL: {terminal_safe(title)}: {terminal_safe(detail)}")
    print(f"report: {result.html_path}\nnotebook: {result.notebook_path}\nindex: {result.index_path}")
    if critical and args.demo:  # planted incidents: the demo shows them, it has nothing to warn about
        print(f"critical alerts: {critical} (planted in the demo's synthetic data)")
        return 0
    if critical:
        print(f"critical alerts: {critical} (see the report); exit code 3")
    return 3 if critical else 0


def _sync_first(args: argparse.Namespace) -> None:
    """``--sync``: bring the archive up to date (what the API still serves), so the report is current."""
    from wsframes.archive import sync
    from wsframes.errors import ConfigurationError

    if args.archive is None:
        raise ConfigurationError("--sync updates the archive a report reads: give --archive DIR too.")
    result = sync(args.archive, plan_id=args.plan_id, base_url=args.base_url, config=args.config)
    say_repairs(result)
    log.info("%s", result)


def terminal_safe(text: object) -> str:
    """Text from the data made harmless on a terminal: escapes dropped, control characters -> '?'."""
    return _CONTROL.sub("?", _ANSI.sub("", str(text)))
