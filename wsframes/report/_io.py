"""Atomic file replacement for report outputs (the one shared primitive: :mod:`wsframes._atomic`)."""

from __future__ import annotations

from pathlib import Path

from wsframes._atomic import atomic_write as atomic_replace

__all__ = ["atomic_replace", "atomic_write"]


def atomic_write(path: Path, text: str) -> None:
    """Replace *path* with *text* (UTF-8): readers see the old file or the new one, never half."""
    atomic_replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
