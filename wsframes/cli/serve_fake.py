"""``wsframes serve-fake``: run the fake Webshare API on loopback until Ctrl-C.

Point any client at it with ``WEBSHARE_BASE_URL=http://127.0.0.1:PORT`` and the key you chose.
The key is never logged.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from typing import Any

from wsframes.errors import ConfigurationError

__all__ = ["register", "run"]

log = logging.getLogger("wsframes.cli.serve_fake")


def register(subparsers: Any) -> None:
    """Add the ``serve-fake`` sub-command."""
    parser = subparsers.add_parser(
        "serve-fake",
        help="serve synthetic activity from a local fake Webshare API",
        description="Run a faithful fake Webshare API on loopback with two plans of synthetic "
        "activity (plan 1 datacenter, the default; plan 2 residential) until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to bind: 127.0.0.1 (default), ::1 or localhost")
    parser.add_argument("--api-key", default=None,
                        help="the key clients must send (default: WEBSHARE_API_KEY)")
    parser.add_argument("--records", type=int, default=50_000, help="records per plan")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--tz", default="America/Los_Angeles",
                        help="account time zone of rendered timestamps, e.g. Asia/Kolkata (+05:30)")
    parser.add_argument("--page-cap", type=int, default=1000, help="largest page served")
    parser.add_argument("--days", type=float, default=7.0,
                        help="the data covers this many days before now (at most 90)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    from datetime import UTC, datetime, timedelta

    from wsframes.fake import FakeWebshare, generate_activity
    from wsframes.fake.server import check_loopback

    key = args.api_key or os.environ.get("WEBSHARE_API_KEY")
    if not key:
        raise ConfigurationError(
            "serve-fake needs the API key clients will send: pass --api-key KEY or set "
            "WEBSHARE_API_KEY."
        )
    if args.records < 0 or not 0 < args.days <= 90:
        raise ConfigurationError("--records must be >= 0 and --days between 0 and 90.")
    if not 0 <= args.port <= 65535:
        raise ConfigurationError(f"--port {args.port} is not a TCP port (0..65535).")
    check_loopback(args.host)  # before generating data: refuse at once
    end = datetime.now(UTC)
    start = end - timedelta(days=args.days)
    plans = {
        pid: generate_activity(args.records, start=start, end=end, seed=args.seed, plan_id=pid)
        for pid in (1, 2)
    }
    log.setLevel(logging.INFO)  # the URL is this command's output, shown even without -v
    with FakeWebshare(key, plans=plans, page_cap=args.page_cap, tz=args.tz,
                      host=args.host, port=args.port) as fake:
        log.info("fake Webshare API at %s (plans 1 and 2, %d records each); "
                 "export WEBSHARE_BASE_URL=%s; Ctrl-C stops it",
                 fake.base_url, args.records, fake.base_url)
        _wait_for_stop_signal()
        log.info("stopped after %d activity requests", fake.request_count)
    return 0


def _wait_for_stop_signal() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM.

    The handlers are installed explicitly because a process started in the background inherits
    an ignored SIGINT, and Python would then never raise KeyboardInterrupt.
    """
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
