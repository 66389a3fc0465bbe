"""A progress bar for paged pulls: rows (total from the envelope ``count``) and pages.

Shown in terminals and notebooks (``tqdm.auto`` there), quiet when stderr is not a TTY (cron) or
when ``progress=False``. Concurrent slices of one load add their rows to one bar, so it is
thread-safe. Nothing here knows about frames.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from typing import Any

from wsframes._validate import check_progress

__all__ = ["PROGRESS_MIME", "RELAY_ENV", "Progress", "check_progress", "relay_step"]

#: A report kernel (``RELAY_ENV`` set in its environment) sends its load progress to the builder
#: as display messages of this type; the builder draws them in the terminal and never keeps them.
PROGRESS_MIME = "application/vnd.wsframes.progress+json"
RELAY_ENV = "WSFRAMES_PROGRESS_RELAY"
_RELAY_EVERY = 0.25  # seconds between relayed updates: a handful a second is plenty


def relay_step(text: str) -> None:
    """Name the step a long computation has reached, on the report builder's bar when called in
    its kernel (a report of 100M records spends a minute in its setup cell); elsewhere nothing."""
    if os.environ.get(RELAY_ENV) and in_notebook():
        _send({"step": text})


def _send(update: dict[str, Any]) -> None:
    """One relayed update, as a display message the builder draws and never keeps."""
    from IPython.display import display

    display({PROGRESS_MIME: update}, raw=True)  # type: ignore[no-untyped-call]


def in_notebook() -> bool:
    """Whether we run inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class Progress:
    """A tqdm bar of rows (total from the envelope count) and pages; quiet when not interactive."""

    def __init__(self, enabled: bool | None, description: str) -> None:
        notebook = in_notebook()
        if enabled is None:
            enabled = notebook or sys.stderr.isatty()
        self._bar: Any = None
        self._relayed = 0.0 if notebook and os.environ.get(RELAY_ENV) else None
        if enabled and self._relayed is None:
            import tqdm
            import tqdm.auto

            # tqdm.auto's widget needs ipywidgets (a dependency); without it tqdm warns
            # "IProgress not found", so a stripped-down environment gets the text bar instead.
            widgets = notebook and importlib.util.find_spec("ipywidgets") is not None
            factory: Any = tqdm.auto.tqdm if widgets else tqdm.tqdm
            self._bar = factory(desc=description, unit=" rows", unit_scale=True, leave=False)
        self.pages = 0
        self.rows = 0
        self.total = 0
        self._lock = threading.Lock()

    def add(self, rows: int, total: int = 0) -> None:
        """*rows* more records kept (a page, when > 0); *total*: the window's count, once known."""
        with self._lock:
            if rows:
                self.pages += 1
                self.rows += rows
            if total:
                self.total = total
            if self._relayed is not None:
                self._relay()
            if self._bar is not None:
                self._bar.total = self.total or None
                self._bar.n = self.rows
                self._bar.set_postfix(pages=self.pages, refresh=False)
                self._bar.refresh()

    def close(self) -> None:
        """Remove the bar."""
        if self._relayed is not None:
            self._relay(final=True)
        if self._bar is not None:
            self._bar.close()

    def _relay(self, final: bool = False) -> None:
        now = time.monotonic()
        if final or now - (self._relayed or 0.0) >= _RELAY_EVERY:
            self._relayed = now
            _send({"rows": self.rows, "total": self.total})



