"""Crash-safe file writes: a reader sees the old file or the new one, never a torn one.

Every file wsframes writes for keeps (archive days, the manifest, reports, ``fetch`` output) goes
through :func:`atomic_write`: a hidden temporary file beside the target, made durable, then renamed
over it. Temporary names start with a dot and end in ``.tmp``, so neither ``*.parquet`` globs
(DuckDB, Polars) nor Hive dataset readers (pyarrow, Spark skip ``.``/``_`` names) ever see them.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
>>> atomic_write_bytes(target, b"hello")
>>> target.read_bytes(), [p.name for p in target.parent.iterdir()]
(b'hello', ['note.txt'])
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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


def atomic_write(path: Path, write: Callable[[Path], object], *, mode: int = 0o644) -> None:
    """Let *write* fill a temporary file (it gets its path), make it durable, rename it over *path*.

    A failed or interrupted *write* leaves *path* as it was and removes the temporary file.
    """
    tmp = temp_path(path)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to *path* atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
