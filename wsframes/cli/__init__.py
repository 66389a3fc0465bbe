"""The ``wsframes`` command line: a thin shell over the library.

Exit codes: 0 success, 1 a disk or permission problem, 2 bad input or a failed step (one line on
stderr), 3 a report written with critical alerts (``wsframes report``), 130 interrupted (Ctrl-C).
``-v`` logs each step and its timing; progress bars appear only when stderr is a terminal.

Each sub-command lives in its own module of this package and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (called with the parsed
arguments, returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wsframes.errors import WsframesError

if TYPE_CHECKING:
    from wsframes._config import Config

# Module names under wsframes.cli, in the order `wsframes --help` lists them.
_COMMANDS = ("report", "fetch", "sync", "status", "archive", "serve_fake")


def build_parser() -> argparse.ArgumentParser:
    from wsframes._version import __version__

    parser = argparse.ArgumentParser(
        prog="wsframes", description="Webshare proxy activity as DataFrames and HTML reports."
    )
    parser.add_argument("--version", action="version", version=f"wsframes {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log progress (-v) or every request (-vv)"
    )
    parser.add_argument("--connections", type=int, default=None,
                        help="API connections used at once (default 8; 1 loads sequentially)")
    parser.add_argument("--requests-per-minute", type=int, default=None,
                        help="client-side limit in any 60 s (default 240, the documented limit)")
    parser.add_argument("--subuser", type=int, default=None, metavar="ID",
                        help="read a sub-user's view (X-Subuser header; the sub-user API must be enabled)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"wsframes.cli.{name}")
        except ModuleNotFoundError as exc:  # a command still being built
            if exc.name != f"wsframes.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wsframes`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        args.config = _config(args)  # one settings object for every command's HTTP stack
        return int(args.func(args))
    except WsframesError as exc:
        print(f"wsframes {args.command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk or permission problem: one line, not a traceback
        print(f"wsframes {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # One line, no traceback: files are written atomically, so nothing partial is left.
        _forget_abandoned_tasks()
        print(f"wsframes {args.command}: interrupted; nothing was written.", file=sys.stderr)
        return 130


def _forget_abandoned_tasks() -> None:
    """Silence what asyncio says, at exit, of the kernel client's tasks a Ctrl-C cut short
    ("Task was destroyed but it is pending", "exception was never retrieved", "coroutine ... was
    never awaited"): the process is ending on purpose, and the user asked for one line."""
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)


def _config(args: argparse.Namespace) -> Config:
    from wsframes._config import Config

    given = {"connections": args.connections, "requests_per_minute": args.requests_per_minute,
             "subuser": args.subuser}
    return Config.from_env(**{k: v for k, v in given.items() if v is not None})


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
