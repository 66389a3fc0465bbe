"""Atomic file replacement for report outputs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_replace", "atomic_write"]


def atomic_replace(path: Path, write: Callable[[Path], object]) -> None:
    """Let *write* fill a temporary file beside *path*, then rename it over *path*.

    Readers see the old file or the new one, never half of one; a failed write leaves nothing.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, text: str) -> None:
    """Replace *path* with *text* (UTF-8) atomically."""
    atomic_replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
