"""The hook through which local archive writes reach a remote archive (see :mod:`.remote`).

A remote (S3) archive is worked on in a local directory; every file the archive code replaces or
deletes there (a day file, the manifest) is announced with :func:`published` right after, in the
order the crash-safety protocol needs. Outside a remote session this does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

__all__ = ["active", "published"]

#: The open remote session's handler for a changed local path (None: a plain local archive).
active: ContextVar[Callable[[Path], None] | None] = ContextVar("wsframes_remote", default=None)


def published(path: Path) -> None:
    """Announce that *path* (a day file or the manifest) was just replaced or deleted locally."""
    handler = active.get()
    if handler is not None:
        handler(path)
