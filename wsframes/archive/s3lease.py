"""The lock of an S3 archive: a lease on one object, taken and kept with conditional writes.

A sync creates ``<prefix>/.wsframes.lock`` with ``If-None-Match: *`` (of two creates exactly one
succeeds), renews it with a compare-and-swap on its ETag (``If-Match``) as it records its progress,
and deletes it (only its own version) when done. A lock whose lease ran out, or whose holder was a
process on this host that no longer exists (a killed sync), is taken over by the same
compare-and-swap, so of two syncs taking over one dead lock exactly one wins.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid

from wsframes.archive.s3 import Conflict, ObjectStore
from wsframes.errors import ArchiveError

__all__ = ["DEFAULT_LEASE", "LOCK_KEY", "Lease", "alive"]

log = logging.getLogger(__name__)

#: The lock object's key under the archive prefix (a dot name: dataset readers skip it).
LOCK_KEY = ".wsframes.lock"
#: How long a sync's lock lease lasts without renewal (renewed with every manifest write).
DEFAULT_LEASE = 600.0


class Lease:
    """The lock object of an S3 archive, held by one sync (see the module docstring)."""

    def __init__(self, store: ObjectStore, *, timeout: float, lease: float = DEFAULT_LEASE) -> None:
        self.store, self.timeout, self.lease = store, timeout, lease
        self.owner = uuid.uuid4().hex
        self.etag: str | None = None
        self._renewed = 0.0

    def _body(self) -> bytes:
        return json.dumps({"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                           "expires": time.time() + self.lease}).encode()

    def acquire(self) -> None:
        deadline, pause = time.monotonic() + self.timeout, 0.05
        while True:
            try:
                self.etag = self.store.put(LOCK_KEY, self._body(), if_absent=True)
                break
            except Conflict:
                if self._take_over_stale():
                    break
            if time.monotonic() >= deadline:
                raise ArchiveError(
                    f"another wsframes sync is writing the archive {self.store.location.url} (it holds "
                    f"{self.store.url(LOCK_KEY)}{self._holder()}); waited {self.timeout:g} s. Let it "
                    "finish, or retry with a longer lock timeout. A sync that died on another host "
                    "holds it until its lease runs out.")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        self._renewed = time.monotonic()

    def _holder(self) -> str:
        got = self.store.get(LOCK_KEY)
        try:
            info = json.loads(got[0]) if got else {}
            left = float(info["expires"]) - time.time()
            return f": {info['host']} pid {info['pid']}, lease ends in {max(left, 0):.0f} s"
        except (ValueError, KeyError, TypeError):
            return ""

    def _take_over_stale(self) -> bool:
        got = self.store.get(LOCK_KEY)
        if got is None:
            return False  # released meanwhile: the next create may win
        body, etag = got
        if not _stale(body):
            return False
        try:  # compare-and-swap: of two syncs taking over the same dead lease, one wins
            self.etag = self.store.put(LOCK_KEY, self._body(), if_match=etag)
        except Conflict:
            return False
        log.warning("took over the lock of %s from a sync that died", self.store.location.url)
        return True

    def renew(self) -> None:
        """Extend the lease when a third of it has passed; ArchiveError when it was lost."""
        if time.monotonic() - self._renewed < self.lease / 3:
            return
        try:
            self.etag = self.store.put(LOCK_KEY, self._body(), if_match=self.etag)
        except Conflict:
            raise ArchiveError(f"this sync lost its lock on {self.store.location.url} (its lease ran out "
                               "and another sync took over); run it again.") from None
        self._renewed = time.monotonic()

    def release(self) -> None:
        with contextlib.suppress(Conflict):  # taken over meanwhile: the lock is not ours to delete
            self.store.delete(LOCK_KEY, if_match=self.etag)


def _stale(body: bytes) -> bool:
    """True when a lock's holder is certainly gone: its lease ran out, or it ran on this host and
    its process no longer exists (a killed sync, so the rerun need not wait out the lease)."""
    try:
        info = json.loads(body)
        expires, host, pid = float(info["expires"]), str(info["host"]), int(info["pid"])
    except (ValueError, KeyError, TypeError):
        return True  # not a lock we wrote: a partial or foreign object
    if expires < time.time():
        return True
    if host != socket.gethostname() or pid == os.getpid():
        return False
    return not alive(pid)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
