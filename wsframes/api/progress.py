"""A progress bar for paged pulls: rows (total from the envelope ``count``) and pages.

Shown in terminals and notebooks (``tqdm.auto`` there), quiet when stderr is not a TTY or when
``progress=False``. Nothing here knows about frames.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from wsframes.errors import ConfigurationError

__all__ = ["Progress", "check_progress"]


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
        if enabled:
            import tqdm
            import tqdm.auto

            # tqdm.auto's widget needs ipywidgets (a dependency); without it tqdm warns
            # "IProgress not found", so a stripped-down environment gets the text bar instead.
            widgets = notebook and importlib.util.find_spec("ipywidgets") is not None
            factory: Any = tqdm.auto.tqdm if widgets else tqdm.tqdm
            self._bar = factory(desc=description, unit=" rows", unit_scale=True, leave=False)
        self.pages = 0

    def update(self, kept: int, total: int) -> None:
        """One more page: *kept* rows so far of *total* counted."""
        self.pages += 1
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = kept
            self._bar.set_postfix(pages=self.pages, refresh=False)
            self._bar.refresh()

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()


def check_progress(progress: object) -> bool | None:
    """Validate a ``progress=`` argument: True, False or None (automatic)."""
    if progress is not None and not isinstance(progress, bool):
        raise ConfigurationError(f"progress must be True, False or None (auto), got {progress!r}.")
    return progress
