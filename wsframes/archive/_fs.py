"""Crash-safe file primitives: a reader sees the old file or the new one, never a torn one.

Temporary files are hidden (leading dot) and end in ``.tmp``, so neither ``*.parquet`` globs
(DuckDB, Polars) nor Hive dataset readers (pyarrow, Spark skip ``.``/``_`` names) ever see them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_write_bytes", "fsync_dir", "is_temp", "temp_path"]


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside *path* durable."""
    if os.name == "nt":  # Windows cannot open a directory; NTFS journals renames itself
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    """A hidden temporary name next to *path* that no ``*.parquet`` glob or Hive reader sees."""
    return path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")


def is_temp(path: Path) -> bool:
    """True for a temporary file left behind by a writer that was killed."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Let *write* fill a temporary file, make it durable, then rename it over *path*."""
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to *path* atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda fh: fh.write(data))
